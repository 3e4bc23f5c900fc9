import KernelSDK

/// Group commit of enqueues (KernelSDK's GroupCommit): a burst costs one
/// transaction, not one each.
struct Inserter: Sendable {
    typealias Completion = @Sendable (InsertResult) -> Void
    private let writer: GroupCommit<NewJob, InsertResult>

    init(store: JobStore) {
        writer = GroupCommit(batchLimit: 5_000) { jobs in
            do {
                return try await store.insert(jobs)
            } catch {
                let failure = PluginError(error)
                return jobs.map { _ in .failed(failure) }
            }
        }
    }

    func add(_ job: NewJob, _ done: @escaping Completion) { writer.add(job, done) }
}
