//! Where deliveries may go: never to link-local or cloud metadata addresses, nor to
//! Weir's own listeners; to loopback and private addresses only when the destination
//! allows it. (Names are checked against what they resolve to at each connection:
//! tested with a resolver stub in `dispatch::guard`, so no lookup leaves this machine.)

use weir::server::StartError;
use weir_tests::WeirConfig;
use weir_tests::config::{Destination, Route, Storage};
use weir_tests::receiver::{Receiver, free_port};
use weir_tests::router::{start, try_start};

fn to(destination: Destination) -> WeirConfig {
    WeirConfig::new()
        .storage(Storage::memory())
        .route("r", Route::to(["hook"]))
        .destination("hook", destination)
}

/// The problems Weir refuses to start with.
async fn refused(config: WeirConfig) -> String {
    match try_start(&config).await {
        Ok(weir) => {
            weir.stop().await;
            panic!("Weir started on {config}");
        }
        Err(StartError::Config(problems)) => problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn metadata_and_link_local_addresses_are_refused_even_when_private_ones_are_allowed() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/",
    ] {
        let problems = refused(to(Destination::url(url).allow_private(true))).await;
        assert!(
            problems.contains("destinations.hook: url: deliveries cannot go there"),
            "{url}: {problems}"
        );
    }
}

#[tokio::test]
async fn a_loopback_or_private_receiver_needs_allow_private() {
    let mut hook = Receiver::ok().await;
    let problems = refused(to(Destination::url(hook.url()).allow_private(false))).await;
    assert!(
        problems.contains("is a loopback address; set allow_private = true"),
        "{problems}"
    );
    let problems = refused(to(Destination::url("http://10.1.2.3/hook"))).await;
    assert!(problems.contains("is a private address"), "{problems}");
    // Allowed, it receives.
    let weir = start(&to(Destination::url(hook.url()).allow_private(true))).await;
    assert_eq!(weir.post_json("r", "{}").await.status(), 202);
    hook.next().await;
    weir.stop().await;
}

#[tokio::test]
async fn a_destination_at_weirs_own_admin_listener_is_refused() {
    let admin = free_port();
    let config = to(Destination::url(format!("http://127.0.0.1:{}/admin/reload", admin.port())).allow_private(true))
        .admin_listen(admin);
    let problems = refused(config).await;
    assert!(problems.contains("is Weir's own listener"), "{problems}");
    let config = to(Destination::url(format!("http://localhost:{}/admin/reload", admin.port())).allow_private(true))
        .admin_listen(admin);
    assert!(refused(config).await.contains("is Weir's own listener"));
}
