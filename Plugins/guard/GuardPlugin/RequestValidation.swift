import JSONSchema
import KernelSDK
import Synchronization

/// Checks request bodies against the JSON Schema their endpoint declared
/// (`kn_endpoint_def.request_schema`; the Swift SDK derives it from the
/// request type). A body that fails gets `validation` (422) with every
/// field error, JSON Pointer and message, before the handler runs.
final class RequestValidation: Sendable {
    /// Compiled schemas by endpoint, with the text they came from: a
    /// reloaded endpoint with a new schema compiles again.
    private let compiled = Mutex<[String: (text: String, schema: Result<Schema, SchemaError>)]>([:])

    func check(_ request: RequestContext) -> PluginError? {
        guard let text = request.meta("endpoint.request_schema") else { return nil }
        let endpoint = request.endpoint
        let schema = compiled.withLock { table -> Result<Schema, SchemaError> in
            if let entry = table[endpoint], entry.text == text { return entry.schema }
            let schema = Result { () throws(SchemaError) -> Schema in try Schema(text: text) }
            table[endpoint] = (text, schema)
            return schema
        }
        switch schema {
        case .failure(let error):
            // The plugin's mistake, not the caller's: internal, and logged by the kernel.
            return PluginError(.internal, "the request schema of '\(endpoint)' cannot be used: \(error)")
        case .success(let schema):
            var body = request.body
            if body.isEmpty { body = Array("{}".utf8) } // as the SDK decodes an empty body
            let errors = schema.validate(json: body)
            guard !errors.isEmpty else { return nil }
            return .validation(errors.map { PluginError.FieldError(field: $0.field, message: $0.message) },
                               message: "the request does not match the schema of '\(endpoint)'")
        }
    }
}
