import Foundation
import Synchronization

/// The key ring in force, kept current with a JWKS file.
///
/// Each verification asks for the ring; at most once per recheck interval
/// that costs a `stat` of the file, and a changed stamp re-reads it. The file
/// is read under the lock, so loads are numbered in the order the file was
/// read and a slow older load can never replace a newer one. A file that
/// cannot be read or parsed leaves the previous keys in force (a writer
/// caught half-way must not lock everyone out) and is retried once it changes.
final class JWKSSource: Sendable {
    let path: String
    private let fixed: [VerificationKey]
    private let recheckInterval: Duration
    private let state: Mutex<State>

    private struct State {
        var ring: KeyRing
        /// Bumped whenever the ring changes, so cached verifications made with an older ring are dropped.
        var generation: UInt64 = 0
        var stamp: FileStamp?
        var lastCheck: ContinuousClock.Instant
        var pending: Load?
        var loadsStarted: UInt64 = 0
        var loadInstalled: UInt64 = 0
        var notes: [String] = []
        var lastError: String?
    }

    private struct Load: Sendable {
        var stamp: FileStamp?
        var number: UInt64
        var task: Task<Result<JWKSSource.Loaded, AuthConfigError>, Never>
    }

    struct Loaded: Sendable {
        var keys: [VerificationKey]
        var notes: [String]
    }

    /// Loads the file once; a file that cannot be read or parsed is a configuration error here.
    init(path: String, fixed: [VerificationKey], recheckInterval: Duration) async throws(AuthConfigError) {
        self.path = path
        self.fixed = fixed
        self.recheckInterval = recheckInterval
        let stamp = FileStamp.of(path)
        let loaded = try await Self.load(FileManager.default.contents(atPath: path), path: path, fixed: fixed).get()
        self.state = Mutex(
            State(ring: KeyRing(fixed + loaded.keys), stamp: stamp, lastCheck: .now, notes: loaded.notes))
    }

    /// The ring to verify with and its generation, re-reading the file first
    /// when it is due for a check (or when `force` is set) and has changed.
    func current(force: Bool = false) async -> (ring: KeyRing, generation: UInt64) {
        enum Step {
            case ready(KeyRing, UInt64)
            case wait(Load)
        }
        let step = state.withLock { state -> Step in
            let now = ContinuousClock.now
            if !force, now - state.lastCheck < recheckInterval {
                return .ready(state.ring, state.generation)
            }
            state.lastCheck = now
            let stamp = FileStamp.of(path)
            if let pending = state.pending, pending.stamp == stamp { return .wait(pending) }
            if stamp == state.stamp, state.pending == nil { return .ready(state.ring, state.generation) }
            let data = FileManager.default.contents(atPath: path)
            state.loadsStarted += 1
            let (path, fixed) = (self.path, self.fixed)
            let load = Load(
                stamp: stamp, number: state.loadsStarted,
                task: Task { await Self.load(data, path: path, fixed: fixed) })
            state.pending = load
            return .wait(load)
        }
        switch step {
        case .ready(let ring, let generation):
            return (ring, generation)
        case .wait(let load):
            let result = await load.task.value
            return state.withLock { state in
                if load.number > state.loadInstalled {
                    state.loadInstalled = load.number
                    // Recorded even on failure, so a broken file is read once, not per request.
                    state.stamp = load.stamp
                    switch result {
                    case .success(let loaded):
                        state.ring = KeyRing(fixed + loaded.keys)
                        state.generation += 1
                        state.notes = loaded.notes
                        state.lastError = nil
                    case .failure(let error):
                        state.lastError = error.message
                    }
                }
                if state.pending?.number == load.number { state.pending = nil }
                return (state.ring, state.generation)
            }
        }
    }

    /// The generation in force, or nil when the file is due for a check or a
    /// load is under way: the caller must then take ``current(force:)``, so
    /// that answering from the cache never postpones noticing a retired key.
    func generationIfChecked() -> UInt64? {
        state.withLock { state in
            guard state.pending == nil, ContinuousClock.now - state.lastCheck < recheckInterval else { return nil }
            return state.generation
        }
    }

    /// Why the last re-read was not applied, if it was not.
    var lastError: String? { state.withLock { $0.lastError } }

    /// Keys of the file that were left out, and why.
    var notes: [String] { state.withLock { $0.notes } }

    private static func load(_ data: Data?, path: String, fixed: [VerificationKey]) async -> Result<Loaded, AuthConfigError> {
        guard let data else { return .failure(AuthConfigError("cannot read JWKS file '\(path)'")) }
        let document: JWKSDocument
        do {
            document = try JWKSDocument.parse(data)
        } catch {
            return .failure(AuthConfigError("JWKS file '\(path)': \(error.message)"))
        }
        var loaded = Loaded(keys: [], notes: document.notes)
        let fixedIDs = Set(fixed.compactMap(\.kid))
        for entry in document.entries {
            // A configured key is deliberate; the file does not get to shadow it.
            if fixedIDs.contains(entry.kid) {
                loaded.notes.append("kid '\(entry.kid)': also a configured key, skipped")
                continue
            }
            do {
                loaded.keys.append(try await VerificationKey.make(jwk: entry.jwk, kid: entry.kid, algorithm: entry.alg))
            } catch {
                loaded.notes.append("kid '\(entry.kid)': not a usable \(entry.alg) key, skipped")
            }
        }
        return .success(loaded)
    }
}
