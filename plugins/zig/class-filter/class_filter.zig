//! class-filter: keeps only the predictions of the configured classes at or above a
//! minimum confidence, and drops the event when none is left; the masks of removed
//! predictions go too. The Zig twin of plugins/rust/class-filter: same config, same
//! output, byte for byte. Built with the Zig SDK (plugin-sdk/zig/weir.zig).
const std = @import("std");
const weir = @import("weir");

const ClassFilter = struct {
    config: Config,
    /// The drop reason: "no prediction of person, car at confidence >= 0.5".
    nothing_left: []const u8,

    /// The config; unknown fields are refused.
    const Config = struct {
        /// Classes to keep; empty keeps every class.
        classes: []const []const u8 = &.{},
        /// The lowest confidence kept, 0 to 1. Predictions without one are judged on
        /// their class alone.
        min_confidence: f64 = 0,
        /// Also remove the mask attachments of removed predictions.
        remove_orphaned_masks: bool = true,
    };

    pub fn init(config: Config) !ClassFilter {
        if (!(config.min_confidence >= 0 and config.min_confidence <= 1))
            return weir.fail("min_confidence must be between 0 and 1, got {d}", .{config.min_confidence});
        const classes = if (config.classes.len == 0) "any class" else try std.mem.join(weir.allocator(), ", ", config.classes);
        return .{
            .config = config,
            .nothing_left = try std.fmt.allocPrint(weir.allocator(), "no prediction of {s} at confidence >= {d}", .{ classes, config.min_confidence }),
        };
    }

    fn keeps(self: *const ClassFilter, p: weir.Prediction) bool {
        const class_ok = self.config.classes.len == 0 or contains(self.config.classes, p.class);
        return class_ok and (p.confidence == null or p.confidence.? >= self.config.min_confidence);
    }

    pub fn filter(self: *ClassFilter, event: *weir.Event) !weir.Verdict {
        // Weir lists the predictions: no JSON here, and Weir edits the document from
        // the indices kept.
        const a = weir.allocator();
        var keep: std.ArrayList(u32) = .empty;
        var kept_masks: std.ArrayList([]const u8) = .empty;
        for (event.prediction_list) |p| {
            if (!self.keeps(p)) continue;
            try keep.append(a, p.index);
            if (p.mask) |mask| try kept_masks.append(a, mask);
        }
        if (keep.items.len == 0) return .{ .drop = self.nothing_left };
        if (keep.items.len == event.prediction_list.len) return .keep;
        // Masks referred to only by removed predictions, and present on the event.
        var orphaned: std.ArrayList([]const u8) = .empty;
        if (self.config.remove_orphaned_masks) {
            for (event.prediction_list) |p| {
                const mask = p.mask orelse continue;
                if (std.mem.indexOfScalar(u32, keep.items, p.index) != null) continue;
                const present = for (event.attachments) |att| {
                    if (std.mem.eql(u8, att.name, mask)) break true;
                } else false;
                if (present and !contains(kept_masks.items, mask) and !contains(orphaned.items, mask))
                    try orphaned.append(a, mask);
            }
        }
        try event.keepPredictions(keep.items);
        for (orphaned.items) |mask| try event.removeAttachment(mask);
        return .keep;
    }
};

fn contains(list: []const []const u8, name: []const u8) bool {
    for (list) |s| if (std.mem.eql(u8, s, name)) return true;
    return false;
}

comptime {
    weir.exportFilter(ClassFilter);
}
