//! `multipart/form-data` bodies: writing one to send, and reading one a receiver got
//! with an implementation that is not Weir's (multer).

use bytes::Bytes;

/// A part of a multipart body: (field name, file name, content type, bytes).
pub type Part<'a> = (&'a str, Option<&'a str>, &'a str, &'a [u8]);

/// A `multipart/form-data` body of these parts, and its content type.
pub fn multipart_body(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----weir-test-boundary-7d3a";
    let mut body = Vec::new();
    for (field, file, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{field}\"\r\n").as_bytes()),
        }
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The parts of a received multipart body: (file name, content type, bytes), parsed
/// by an independent implementation (multer).
pub async fn parse_multipart(content_type: &str, body: Bytes) -> Vec<(String, String, Bytes)> {
    let boundary = multer::parse_boundary(content_type).expect("a multipart content type");
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.expect("a well-formed multipart body") {
        let name = field.file_name().unwrap_or_default().to_string();
        let content_type = field.content_type().map(ToString::to_string).unwrap_or_default();
        parts.push((name, content_type, field.bytes().await.unwrap()));
    }
    parts
}
