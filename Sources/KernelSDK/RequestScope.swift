/// The request a task is working for. The SDK sets it while a handler,
/// job or middleware task runs, and what that task causes carries the
/// request's id on: `invoke` (the called endpoint's `request.id`),
/// `enqueue` (every run of the job), `publish` (the event's context).
///
/// ```swift
/// kernel.endpoint("orders.create") { (order: Order, request: RequestContext) async throws -> Order in
///     try await kernel.enqueue("orders.confirm", order)   // the job runs with this request's id
///     return order
/// }
/// ```
///
/// A task started with `Task {}` inherits it; `Task.detached` does not.
public enum RequestScope {
    /// The id of the request being served, or nil outside one.
    @TaskLocal public static var requestID: String?
}
