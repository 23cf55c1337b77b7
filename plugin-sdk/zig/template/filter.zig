//! {{name}}: a Weir filter in Zig. Keeps the predictions at or above min_confidence
//! and drops the event when none is left. The SDK is weir-sdk/weir.zig (its README
//! tells the whole API).
const std = @import("std");
const weir = @import("weir");

const Filter = struct {
    min_confidence: f64,

    /// The config from the route ({"min_confidence": 0.8}), parsed with std.json;
    /// unknown fields are refused.
    const Config = struct { min_confidence: f64 = 0.5 };

    pub fn init(config: Config) !Filter {
        weir.log(.info, "keeping predictions at confidence >= {d}", .{config.min_confidence});
        return .{ .min_confidence = config.min_confidence };
    }

    pub fn filter(self: *Filter, event: *weir.Event) !weir.Verdict {
        var keep: std.ArrayList(u32) = .empty;
        for (event.prediction_list) |p| {
            if ((p.confidence orelse 1) >= self.min_confidence) try keep.append(weir.allocator(), p.index);
        }
        if (keep.items.len == 0) return weir.drop("nothing at confidence >= {d}", .{self.min_confidence});
        if (keep.items.len < event.prediction_list.len) try event.keepPredictions(keep.items);
        return .keep;
    }
};

comptime {
    weir.exportFilter(Filter);
}
