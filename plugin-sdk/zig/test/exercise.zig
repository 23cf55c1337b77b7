//! The SDK's exercise: every edit, the local refusals, the state store, attachment
//! bytes, the log and a retryable error, checked by check.sh.
const std = @import("std");
const weir = @import("weir");

fn kind(result: weir.Refusal!void) []const u8 {
    result catch |e| return switch (e) {
        error.NoSuchPrediction => "no-such-prediction",
        error.NoSuchAttachment => "no-such-attachment",
        error.NoSuchDestination => "no-such-destination",
        error.InvalidJson => "invalid-json",
        else => @errorName(e),
    };
    return "accepted";
}

const Exercise = struct {
    pub fn init(_: struct {}) !Exercise {
        return .{};
    }

    pub fn filter(_: *Exercise, e: *weir.Event) !weir.Verdict {
        if (e.metadataValue("fail") != null) return weir.failRetryable("asked to fail", .{});
        const a = weir.allocator();
        const refusals = try std.fmt.allocPrint(a, "{s},{s},{s},{s}", .{
            kind(e.keepPredictions(&.{99})),
            kind(e.removeAttachment("nope")),
            kind(e.narrowDestinations(&.{"zzz"})),
            kind(e.setPredictions("{nope")),
        });
        try weir.state.set("k", "v", null);
        const got = (try weir.state.get("k")) orelse "";
        const n = try weir.state.increment("n", 5, null);
        const swapped = try weir.state.compareAndSet("k", "v", "w", null);
        const deleted = weir.state.delete("k");
        const absent: []const u8 = if ((try weir.state.get("k")) == null) "absent" else "present";
        const image = (try e.attachmentBytes("image.jpeg")) orelse "";
        try e.setMetadata("r", refusals);
        try e.setMetadata("s", try std.fmt.allocPrint(a, "{s},{d},{},{},{s}", .{ got, n, swapped, deleted, absent }));
        try e.setMetadata("img", try std.fmt.allocPrint(a, "{d}", .{image.len}));
        try e.setMetadata("task", e.task);
        try e.removeMetadata("camera");
        try e.narrowDestinations(&.{"y"});
        try e.setPredictions("{\"predictions\":[{\"class\":\"a\"},{\"class\":\"b\"}]}");
        try e.keepPredictions(&.{1});
        try e.removeAttachment("image.jpeg");
        weir.log(.info, "exercised {d} predictions", .{e.prediction_list.len});
        return .keep;
    }
};

comptime {
    weir.exportFilter(Exercise);
}
