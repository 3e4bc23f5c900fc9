/// What an endpoint declares besides its handler: the JSON Schemas of its
/// request and result, and whether it is idempotent.
///
/// By default the SDK derives both schemas from the handler's types; the
/// `guard` plugin then refuses a request that does not match with
/// `validation` (422) and field errors, before the handler runs, and
/// `kernelctl endpoints --json` lists the schemas for API documents.
///
/// ```swift
/// kernel.endpoint("articles.get", options: EndpointOptions(idempotent: true)) { (request: ArticleID, context) in
///     try await store.article(request.id)
/// }
/// kernel.endpoint("upload", options: EndpointOptions(request: .none)) { (_: Empty, context) in ... }
/// ```
public struct EndpointOptions: Sendable {
    /// Where a schema comes from.
    public enum Schema: Sendable {
        /// From the Swift type, when the SDK can describe it (`RequestSchema.derive`).
        case derived
        /// No schema: nothing is validated or listed.
        case none
        /// This JSON Schema text.
        case json(String)
    }

    public var request: Schema
    public var response: Schema
    /// Same request, same answer, no effect: a response cache may keep its answers.
    public var idempotent: Bool

    public init(request: Schema = .derived, response: Schema = .derived, idempotent: Bool = false) {
        self.request = request
        self.response = response
        self.idempotent = idempotent
    }

    /// The schema texts for the types of an endpoint.
    func texts<Request: Decodable, Response>(_ request: Request.Type, _ response: Response.Type) -> (String?, String?) {
        let requestText: String? = switch self.request {
        case .derived: RequestSchema.derive(Request.self)
        case .none: nil
        case .json(let text): text
        }
        let responseText: String? = switch self.response {
        case .derived: (Response.self as? any Decodable.Type).flatMap { RequestSchema.derive($0) }
        case .none: nil
        case .json(let text): text
        }
        return (requestText, responseText)
    }
}
