//! Write Weir filters in Zig, as WebAssembly core modules of contract 0.2
//! (wit/core-module.md). This module owns the module's exports (weir_alloc, weir_init,
//! weir_filter, weir_abi_version) and the JSON (std.json); a filter is a type:
//!
//!     const weir = @import("weir");
//!
//!     const OnlyPeople = struct {
//!         min_confidence: f64,
//!
//!         // The config, parsed with std.json (unknown fields refused); an error refuses it.
//!         pub const Config = struct { min_confidence: f64 = 0.5 };
//!         pub fn init(config: Config) !OnlyPeople {
//!             return .{ .min_confidence = config.min_confidence };
//!         }
//!
//!         pub fn filter(self: *OnlyPeople, event: *weir.Event) !weir.Verdict {
//!             for (event.prediction_list) |p| {
//!                 if (std.mem.eql(u8, p.class, "person") and (p.confidence orelse 1) >= self.min_confidence)
//!                     return .keep;
//!             }
//!             return weir.drop("no person", .{});
//!         }
//!     };
//!
//!     comptime {
//!         weir.exportFilter(OnlyPeople);
//!     }
//!
//! Build (-target and -O apply to the module, -M, after them):
//!   zig build-exe -target wasm32-freestanding -O ReleaseFast -fstrip -fno-entry -rdynamic \
//!     --dep weir -Mroot=filter.zig -target wasm32-freestanding -O ReleaseFast -fstrip -Mweir=weir.zig
const std = @import("std");

/// The contract this SDK speaks, as weir_abi_version returns it: 0.2.0.
pub const version: i32 = 0x200;

// ---- memory ----

const backing = std.heap.wasm_allocator;
/// Freed when the next call starts: the event, edits, verdicts.
var call_arena = std.heap.ArenaAllocator.init(backing);
/// Never freed: the config and what init allocates.
var instance_arena = std.heap.ArenaAllocator.init(backing);
var in_init = false;

/// An allocator for the current call: what it gives lives until the call returns
/// (during init, for as long as the instance).
pub fn allocator() std.mem.Allocator {
    return if (in_init) instance_arena.allocator() else call_arena.allocator();
}

// ---- the event ----

/// A JSON value kept as its text: a prediction's own JSON, the predictions document.
/// Parse it with std.json when needed.
pub const Raw = struct {
    text: []const u8 = "null",

    pub fn jsonParse(_: std.mem.Allocator, source: anytype, _: std.json.ParseOptions) !Raw {
        if (@TypeOf(source.*) != std.json.Scanner) @compileError("weir.Raw reads from a std.json.Scanner");
        const start = source.cursor;
        try source.skipValue();
        const text = std.mem.trim(u8, source.input[start..source.cursor], " \t\r\n:,");
        return .{ .text = text };
    }

    pub fn jsonStringify(self: Raw, jw: anytype) !void {
        try jw.beginWriteRaw();
        try jw.writer.writeAll(self.text);
        jw.endWriteRaw();
    }
};

/// A bounding box in the document's units; x, y: the top-left corner.
pub const BBox = struct { x: f64, y: f64, width: f64, height: f64 };

/// One prediction, as Weir read it from the document.
pub const Prediction = struct {
    /// Its place in the prediction list: what keepPredictions takes.
    index: u32,
    /// The class label (`class` or `label`).
    class: []const u8,
    /// `confidence` or `score`, when the model gives one.
    confidence: ?f64 = null,
    /// The mask file it refers to.
    mask: ?[]const u8 = null,
    bbox: ?BBox = null,
    /// The prediction as it stands in the document.
    json: Raw = .{},
};

pub const Attachment = struct {
    name: []const u8,
    content_type: []const u8 = "",
    size: u64 = 0,
};

pub const MetadataEntry = struct { key: []const u8, value: []const u8 };

/// The metadata entries, in order.
const Metadata = struct {
    entries: []const MetadataEntry = &.{},

    pub fn jsonParse(a: std.mem.Allocator, source: anytype, options: std.json.ParseOptions) !Metadata {
        var list: std.ArrayList(MetadataEntry) = .empty;
        if (try source.next() != .object_begin) return error.UnexpectedToken;
        while (true) {
            switch (try source.nextAlloc(a, .alloc_always)) {
                .allocated_string => |key| {
                    const value = try std.json.innerParse([]const u8, a, source, options);
                    try list.append(a, .{ .key = key, .value = value });
                },
                .object_end => break,
                else => return error.UnexpectedToken,
            }
        }
        return .{ .entries = list.items };
    }
};

/// Well-known tasks (Event.task is open: a sender may name others).
pub const task = struct {
    pub const object_detection = "object-detection";
    pub const classification = "classification";
    pub const multilabel_classification = "multilabel-classification";
    pub const instance_segmentation = "instance-segmentation";
    pub const semantic_segmentation = "semantic-segmentation";
    pub const other = "other";
};

/// What Weir writes (wit/core-module.md).
const Wire = struct {
    id: []const u8 = "",
    route: []const u8 = "",
    task: []const u8 = task.other,
    metadata: Metadata = .{},
    predictions: Raw = .{},
    prediction_list: []const Prediction = &.{},
    attachments: []const Attachment = &.{},
    destinations: []const []const u8 = &.{},
};

/// A refused edit or state operation, by the contract's kind.
pub const Refusal = error{ NoSuchPrediction, NoSuchAttachment, NoSuchDestination, InvalidJson, TooLarge, NotANumber, OutOfRange, NotUtf8, OutOfMemory };

/// One event, as it came in: the edits are recorded, checked against the event as the
/// edits before them leave it, and applied by Weir in order when the filter keeps the
/// event; they do not change these fields.
pub const Event = struct {
    /// The sender's Idempotency-Key or webhook-id, or one Weir gave.
    id: []const u8,
    /// The route the event came in on.
    route: []const u8,
    /// The model's task: see weir.task, or any name a sender gives.
    task: []const u8,
    /// The metadata entries, in order, keys unique.
    metadata: []const MetadataEntry,
    /// The predictions document, as the sender posted it (or an earlier filter left it).
    predictions: Raw,
    /// The predictions as Weir read them: most filters need nothing else.
    prediction_list: []const Prediction,
    /// The attachments, without their bytes (see attachmentBytes).
    attachments: []const Attachment,
    /// The destinations the event is bound for.
    destinations: []const []const u8,

    edits: std.ArrayList(u8) = .empty,
    count: ?usize, // predictions listed after the edits so far; null once unknown
    attachments_left: ?std.ArrayList([]const u8) = null,
    destinations_left: ?std.ArrayList([]const u8) = null,
    metadata_keys: ?std.ArrayList([]const u8) = null,

    /// The value of a metadata entry.
    pub fn metadataValue(self: *const Event, key: []const u8) ?[]const u8 {
        for (self.metadata) |m| if (std.mem.eql(u8, m.key, key)) return m.value;
        return null;
    }

    /// The bytes of an attachment, copied from Weir on request; null when there is none.
    pub fn attachmentBytes(_: *const Event, name: []const u8) !?[]u8 {
        const size = host.attachment(name.ptr, name.len, null, 0);
        if (size < 0) return null;
        const buf = try allocator().alloc(u8, @intCast(size));
        _ = host.attachment(name.ptr, name.len, buf.ptr, buf.len);
        return buf;
    }

    /// Keeps only the predictions at these indices of the prediction list (as the edits
    /// before left it: after a first keep, indices refer to the kept ones, in order).
    pub fn keepPredictions(self: *Event, indices: []const u32) Refusal!void {
        if (self.count) |count| {
            var distinct: usize = 0;
            for (indices, 0..) |i, at| {
                if (i >= count) return error.NoSuchPrediction;
                if (std.mem.indexOfScalar(u32, indices[0..at], i) == null) distinct += 1;
            }
            self.count = distinct;
        }
        try self.edit("keep_predictions", indices);
    }

    /// Replaces the predictions document (JSON text).
    pub fn setPredictions(self: *Event, json: []const u8) Refusal!void {
        if (!(std.json.validate(allocator(), json) catch false)) return error.InvalidJson;
        self.count = null;
        try self.edit("set_predictions", Raw{ .text = json });
    }

    pub fn removeAttachment(self: *Event, name: []const u8) Refusal!void {
        if (self.attachments_left == null) {
            var left: std.ArrayList([]const u8) = .empty;
            for (self.attachments) |a| try left.append(allocator(), a.name);
            self.attachments_left = left;
        }
        const left = &self.attachments_left.?;
        const at = indexOf(left.items, name) orelse return error.NoSuchAttachment;
        _ = left.orderedRemove(at);
        try self.edit("remove_attachment", name);
    }

    /// Adds a metadata entry, or overwrites the key's value in place.
    pub fn setMetadata(self: *Event, key: []const u8, value: []const u8) Refusal!void {
        if (key.len == 0 or key.len > max_metadata_key or value.len > max_metadata_value) return error.TooLarge;
        if (!std.unicode.utf8ValidateSlice(key) or !std.unicode.utf8ValidateSlice(value)) return error.NotUtf8;
        const keys = try self.metadataKeys();
        if (indexOf(keys.items, key) == null) {
            if (keys.items.len + 1 > max_metadata_entries) return error.TooLarge;
            try keys.append(allocator(), try allocator().dupe(u8, key));
        }
        try self.edit("set_metadata", .{ .key = key, .value = value });
    }

    /// Removes a metadata entry (absent: not an error).
    pub fn removeMetadata(self: *Event, key: []const u8) Refusal!void {
        const keys = try self.metadataKeys();
        if (indexOf(keys.items, key)) |at| _ = keys.orderedRemove(at);
        try self.edit("remove_metadata", key);
    }

    /// Narrows the destinations to these names, each one of the current destinations.
    pub fn narrowDestinations(self: *Event, names: []const []const u8) Refusal!void {
        if (self.destinations_left == null) {
            var left: std.ArrayList([]const u8) = .empty;
            try left.appendSlice(allocator(), self.destinations);
            self.destinations_left = left;
        }
        const left = &self.destinations_left.?;
        for (names) |n| if (indexOf(left.items, n) == null) return error.NoSuchDestination;
        var i: usize = 0;
        while (i < left.items.len) {
            if (indexOf(names, left.items[i]) == null) _ = left.orderedRemove(i) else i += 1;
        }
        try self.edit("narrow_destinations", names);
    }

    fn metadataKeys(self: *Event) !*std.ArrayList([]const u8) {
        if (self.metadata_keys == null) {
            var keys: std.ArrayList([]const u8) = .empty;
            for (self.metadata) |m| try keys.append(allocator(), m.key);
            self.metadata_keys = keys;
        }
        return &self.metadata_keys.?;
    }

    fn edit(self: *Event, comptime kind: []const u8, value: anytype) !void {
        const a = allocator();
        if (self.edits.items.len > 0) try self.edits.append(a, ',');
        try self.edits.appendSlice(a, "{\"" ++ kind ++ "\":");
        const body = try std.json.Stringify.valueAlloc(a, value, .{});
        try self.edits.appendSlice(a, body);
        try self.edits.append(a, '}');
    }
};

/// Weir's limits on metadata, the ones senders meet too.
pub const max_metadata_key = 128;
pub const max_metadata_value = 4096;
pub const max_metadata_entries = 64;

fn indexOf(list: []const []const u8, name: []const u8) ?usize {
    for (list, 0..) |s, i| if (std.mem.eql(u8, s, name)) return i;
    return null;
}

// ---- verdicts and errors ----

/// What a filter decides: keep the event (with its edits), or drop it with a reason.
/// To say the event cannot be processed, return an error (see fail).
pub const Verdict = union(enum) {
    keep,
    drop: []const u8,
};

/// Drops the event, with a formatted reason (counted and logged).
pub fn drop(comptime format: []const u8, args: anytype) Verdict {
    return .{ .drop = std.fmt.allocPrint(allocator(), format, args) catch "out of memory" };
}

var failure: ?[]const u8 = null;
var failure_retryable = false;

/// Returns error.Failed with a message: from init, it refuses the config; from
/// filter, it is the error Weir logs (the route's failure policy decides the event's
/// fate). Any other error says its name.
pub fn fail(comptime format: []const u8, args: anytype) error{Failed} {
    failure = std.fmt.allocPrint(allocator(), format, args) catch "out of memory";
    failure_retryable = false;
    return error.Failed;
}

/// As fail, for an event that could get past later (a full state store, say): Weir
/// answers the sender 503 with Retry-After.
pub fn failRetryable(comptime format: []const u8, args: anytype) error{Failed} {
    const err = fail(format, args);
    failure_retryable = true;
    return err;
}

fn message(err: anyerror) []const u8 {
    if (err == error.Failed) if (failure) |m| return m;
    return @errorName(err);
}

// ---- host services ----

const host = struct {
    extern "weir" fn log(level: i32, ptr: [*]const u8, len: usize) void;
    extern "weir" fn attachment(name: [*]const u8, name_len: usize, buf: ?[*]u8, buf_len: usize) i64;
    extern "weir" fn state_get(key: [*]const u8, key_len: usize, buf: ?[*]u8, buf_len: usize) i64;
    extern "weir" fn state_set(key: [*]const u8, key_len: usize, value: [*]const u8, value_len: usize, ttl_ms: i64) i64;
    extern "weir" fn state_compare_and_set(key: [*]const u8, key_len: usize, expected: ?[*]const u8, expected_len: i32, value: ?[*]const u8, value_len: i32, ttl_ms: i64) i64;
    extern "weir" fn state_increment(key: [*]const u8, key_len: usize, delta: i64, ttl_ms: i64, out: *i64) i64;
    extern "weir" fn state_delete(key: [*]const u8, key_len: usize) i64;
};

pub const Level = enum(i32) { trace, debug, info, warn, err };

/// Writes a formatted message to Weir's log, tagged with the plugin's name.
pub fn log(level: Level, comptime format: []const u8, args: anytype) void {
    const text = std.fmt.allocPrint(allocator(), format, args) catch return;
    host.log(@intFromEnum(level), text.ptr, text.len);
}

/// The filter's state store: one per filter of a route, shared by all its instances,
/// kept across hot reloads (and restarts with state = "durable"). ttl_ms null: no expiry.
pub const state = struct {
    fn ttl(ms: ?u64) i64 {
        return if (ms) |m| @intCast(@min(m, std.math.maxInt(i64))) else -1;
    }

    fn refusal(code: i64) Refusal {
        return switch (code) {
            -3 => error.NotANumber,
            -4 => error.OutOfRange,
            -5 => error.NotUtf8,
            else => error.TooLarge,
        };
    }

    /// A key's value (in the call's memory), or null when it is absent or expired.
    pub fn get(key: []const u8) !?[]u8 {
        var size = host.state_get(key.ptr, key.len, null, 0);
        while (size >= 0) {
            const buf = try allocator().alloc(u8, @intCast(size));
            const again = host.state_get(key.ptr, key.len, buf.ptr, buf.len);
            if (again >= 0 and again <= size) return buf[0..@intCast(again)];
            size = again; // changed in between: read again
        }
        return null;
    }

    pub fn set(key: []const u8, value: []const u8, ttl_ms: ?u64) Refusal!void {
        const code = host.state_set(key.ptr, key.len, value.ptr, value.len, ttl(ttl_ms));
        if (code != 0) return refusal(code);
    }

    /// Sets the key to value (null: deletes it) only if its value is expected (null:
    /// absent or expired); true when it was set.
    pub fn compareAndSet(key: []const u8, expected: ?[]const u8, value: ?[]const u8, ttl_ms: ?u64) Refusal!bool {
        const code = host.state_compare_and_set(
            key.ptr,
            key.len,
            if (expected) |e| e.ptr else null,
            if (expected) |e| @intCast(e.len) else -1,
            if (value) |v| v.ptr else null,
            if (value) |v| @intCast(v.len) else -1,
            ttl(ttl_ms),
        );
        if (code < 0) return refusal(code);
        return code == 1;
    }

    /// Sets the key if absent: true for exactly one caller until it expires.
    pub fn claim(key: []const u8, ttl_ms: ?u64) Refusal!bool {
        return compareAndSet(key, null, "1", ttl_ms);
    }

    /// Adds delta to the key's decimal value (absent: 0); returns the new value.
    pub fn increment(key: []const u8, delta: i64, ttl_ms: ?u64) Refusal!i64 {
        var sum: i64 = 0;
        const code = host.state_increment(key.ptr, key.len, delta, ttl(ttl_ms), &sum);
        if (code != 0) return refusal(code);
        return sum;
    }

    /// Deletes a key; true when a live entry was there.
    pub fn delete(key: []const u8) bool {
        return host.state_delete(key.ptr, key.len) == 1;
    }
};

// ---- the exports ----

var input: []u8 = &.{};
var output: std.ArrayList(u8) = .empty;

fn pack(bytes: []const u8) i64 {
    return @bitCast((@as(u64, @intFromPtr(bytes.ptr)) << 32) | @as(u64, bytes.len));
}

fn writeVerdict(comptime head: []const u8, text: []const u8, tail: []const u8) i64 {
    const a = call_arena.allocator();
    output = .empty;
    const quoted = std.json.Stringify.valueAlloc(a, text, .{}) catch return 0;
    output.appendSlice(a, head) catch return 0;
    output.appendSlice(a, quoted) catch return 0;
    output.appendSlice(a, tail) catch return 0;
    return pack(output.items);
}

/// Makes the type T the module's filter: T.init(config) builds it once per instance
/// (the config is T.init's parameter type, parsed from the route's JSON with
/// std.json; unknown fields are refused); T.filter(*T, *weir.Event) decides on each
/// event. Call it from a comptime block of the root source file.
pub fn exportFilter(comptime T: type) void {
    const Config = @typeInfo(@TypeOf(T.init)).@"fn".param_types[0].?;
    const exports = struct {
        var instance: ?T = null;

        fn abiVersion() callconv(.c) i32 {
            return version;
        }

        fn alloc(len: usize) callconv(.c) ?[*]u8 {
            _ = call_arena.reset(.retain_capacity);
            failure = null;
            if (len > input.len) {
                if (input.len > 0) backing.free(input);
                input = backing.alloc(u8, len) catch return null;
            }
            return input.ptr;
        }

        fn init(ptr: [*]const u8, len: usize) callconv(.c) i64 {
            in_init = true;
            defer in_init = false;
            const a = instance_arena.allocator();
            const text = a.dupe(u8, ptr[0..len]) catch return pack("out of memory");
            var diagnostics: std.json.Diagnostics = .{};
            var scanner = std.json.Scanner.initCompleteInput(a, text);
            scanner.enableDiagnostics(&diagnostics);
            const config = std.json.parseFromTokenSourceLeaky(Config, a, &scanner, .{ .allocate = .alloc_always }) catch |e| {
                const m = std.fmt.allocPrint(a, "invalid config: {s} at line {d} column {d}", .{ @errorName(e), diagnostics.getLine(), diagnostics.getColumn() }) catch "invalid config";
                return pack(m);
            };
            instance = T.init(config) catch |e| return pack(message(e));
            return 0;
        }

        fn filter(ptr: [*]const u8, len: usize) callconv(.c) i64 {
            const a = call_arena.allocator();
            const wire = std.json.parseFromSliceLeaky(Wire, a, ptr[0..len], .{ .ignore_unknown_fields = true }) catch |e|
                return writeVerdict("{\"verdict\":\"error\",\"message\":", @errorName(e), ",\"retryable\":false}");
            var event: Event = .{
                .id = wire.id,
                .route = wire.route,
                .task = wire.task,
                .metadata = wire.metadata.entries,
                .predictions = wire.predictions,
                .prediction_list = wire.prediction_list,
                .attachments = wire.attachments,
                .destinations = wire.destinations,
                .count = wire.prediction_list.len,
            };
            if (instance == null) return writeVerdict("{\"verdict\":\"error\",\"message\":", "the filter was not initialised", ",\"retryable\":false}");
            const verdict = T.filter(&instance.?, &event) catch |e| {
                const tail = if (e == error.Failed and failure_retryable) ",\"retryable\":true}" else ",\"retryable\":false}";
                return writeVerdict("{\"verdict\":\"error\",\"message\":", message(e), tail);
            };
            switch (verdict) {
                .drop => |reason| return writeVerdict("{\"verdict\":\"drop\",\"reason\":", reason, "}"),
                .keep => {
                    output = .empty;
                    output.appendSlice(a, "{\"verdict\":\"keep\"") catch return 0;
                    if (event.edits.items.len > 0) {
                        output.appendSlice(a, ",\"edits\":[") catch return 0;
                        output.appendSlice(a, event.edits.items) catch return 0;
                        output.append(a, ']') catch return 0;
                    }
                    output.append(a, '}') catch return 0;
                    return pack(output.items);
                },
            }
        }
    };
    @export(&exports.abiVersion, .{ .name = "weir_abi_version" });
    @export(&exports.alloc, .{ .name = "weir_alloc" });
    @export(&exports.init, .{ .name = "weir_init" });
    @export(&exports.filter, .{ .name = "weir_filter" });
}
