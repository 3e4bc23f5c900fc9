import Foundation

/// Converts between UTC seconds and wall seconds in one zone with the
/// semantics of Python's `zoneinfo` (PEP 495), which cronsim relies on:
///
/// - a wall time in a spring-forward gap converts with the offset from
///   before the change when `fold == 0`, and from after it when `fold == 1`;
/// - a wall time in a fall-back overlap means its first occurrence when
///   `fold == 0` and its second when `fold == 1`;
/// - converting UTC to wall time reports `fold == 1` inside the repeat.
///
/// The zone's transitions are fetched from Foundation lazily, for the window
/// a search actually visits, and kept in a small sorted array so that each
/// conversion is a short scan instead of a call into ICU.
struct ZoneClock {
    struct Transition {
        var utc: Int
        var before: Int
        var after: Int
    }

    let zone: TimeZone
    private var transitions: [Transition] = []
    /// All offset changes in `lo < t <= hi` are in `transitions`.
    private var lo = 0, hi = 0
    /// The offset in effect at `lo`.
    private var base = 0
    private var exhausted = false, started = false

    init(_ zone: TimeZone) { self.zone = zone }

    /// UTC seconds of a wall time (`datetime.timestamp()` of an aware time).
    mutating func utc(_ wall: Wall, fold: Int) -> Int {
        let w = wall.seconds
        cover(w - 2 * Civil.secondsPerDay, w + 2 * Civil.secondsPerDay)
        var i = lastIndex(atOrBefore: w + 2 * Civil.secondsPerDay)
        // zoneinfo's rule: the last transition whose wall-clock threshold
        // (the later wall reading for fold 0, the earlier one for fold 1)
        // is not after `w` decides the offset.
        while i >= 0 {
            let t = transitions[i]
            let shift = fold == 0 ? max(t.before, t.after) : min(t.before, t.after)
            if t.utc + shift <= w { return w - t.after }
            i -= 1
        }
        return w - base
    }

    /// Wall time and fold of a UTC instant (`ZoneInfo.fromutc`).
    mutating func wall(utc u: Int) -> (Wall, fold: Int) {
        cover(u - 1, u + 1)
        let i = lastIndex(atOrBefore: u)
        guard i >= 0 else { return (Wall(seconds: u + base), 0) }
        let t = transitions[i]
        let fold = t.before - t.after > u - t.utc ? 1 : 0
        return (Wall(seconds: u + t.after), fold)
    }

    /// cronsim's `is_imaginary`: the wall time does not survive a round trip
    /// through UTC, so it lies in a spring-forward gap.
    mutating func isImaginary(_ wall: Wall) -> Bool {
        self.wall(utc: utc(wall, fold: 0)).0.seconds != wall.seconds
    }

    private func lastIndex(atOrBefore u: Int) -> Int {
        var low = 0, high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid].utc <= u { low = mid + 1 } else { high = mid }
        }
        return low - 1
    }

    private func offset(at u: Int) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(u)))
    }

    /// Makes sure all transitions in `a...b` are known.
    private mutating func cover(_ a: Int, _ b: Int) {
        if !started || a <= lo {
            // Searches move forward, so this runs once per search in practice.
            let keep = started ? hi : b
            started = true
            lo = a - 7 * Civil.secondsPerDay
            hi = lo
            base = offset(at: lo)
            transitions = []
            exhausted = false
            fetch(upTo: max(keep, b))
        } else if b > hi {
            fetch(upTo: b)
        }
    }

    private mutating func fetch(upTo target: Int) {
        while !exhausted && hi < target {
            var query = hi
            var found: Int?
            for _ in 0..<2 {
                let date = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(query)))
                guard let date, abs(date.timeIntervalSince1970) < 1e15 else { break }
                let t = Int(date.timeIntervalSince1970.rounded())
                if t > hi { found = t; break }
                query = hi + 1  // Foundation returned the boundary itself
            }
            guard let t = found else { exhausted = true; return }
            let before = offset(at: t - 1), after = offset(at: t)
            if before != after { transitions.append(Transition(utc: t, before: before, after: after)) }
            hi = t
        }
    }
}
