import JSONSchema
import KernelSDK
import Synchronization

/// Checks request bodies against the JSON Schema their endpoint declared
/// (`kn_endpoint_def.request_schema`; the Swift SDK derives it from the
/// request type). A body that fails gets `validation` (422) with every
/// field error, JSON Pointer and message, before the handler runs.
final class RequestValidation: Sendable {
    private struct Compiled: Sendable {
        /// The schema's text, to notice a reloaded endpoint's new one.
        let text: [UInt8]
        let schema: Result<Schema, SchemaError>
        /// An empty body (decoded as `{}`) passes: checked once, not per call.
        let acceptsEmpty: Bool
    }

    private let compiled = Mutex<[String: Compiled]>([:])

    func check(_ request: RequestContext) -> PluginError? {
        var endpoint = ""
        let found: Compiled? = request.withMeta("endpoint.request_schema") { text in
            guard let text else { return nil }
            endpoint = request.endpoint
            return compiled.withLock { table -> Compiled in
                if let entry = table[endpoint], entry.text.elementsEqual(text) { return entry }
                let bytes = Array(text)
                let schema = Result { () throws(SchemaError) -> Schema in try Schema(json: bytes) }
                let acceptsEmpty = (try? schema.get())?.validate(.object([:])).isEmpty ?? false
                let entry = Compiled(text: bytes, schema: schema, acceptsEmpty: acceptsEmpty)
                table[endpoint] = entry
                return entry
            }
        }
        guard let found else { return nil }
        switch found.schema {
        case .failure(let error):
            // The plugin's mistake, not the caller's: internal, and logged by the kernel.
            return PluginError(.internal, "the request schema of '\(endpoint)' cannot be used: \(error)")
        case .success(let schema):
            if request.bodyCount == 0 {
                if found.acceptsEmpty { return nil }
                return Self.refusal(schema.validate(.object([:])), endpoint) // as the SDK decodes an empty body
            }
            return Self.refusal(schema.validate(json: request.body), endpoint)
        }
    }

    private static func refusal(_ errors: [FieldError], _ endpoint: String) -> PluginError? {
        guard !errors.isEmpty else { return nil }
        return .validation(errors.map { PluginError.FieldError(field: $0.field, message: $0.message) },
                           message: "the request does not match the schema of '\(endpoint)'")
    }
}
