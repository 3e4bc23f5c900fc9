import Foundation

/// The kernel's check of an endpoint's schema at registration: JSON, and an
/// object or a boolean (what JSON Schema allows at the top). The guard
/// plugin compiles and applies it; a schema that fails here never registers.
enum JSONSchemaText {
    /// Why `text` is not a schema, or nil.
    static func problem(_ text: String) -> String? {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            return "is not valid JSON"
        }
        if value is [String: Any] { return nil }
        let bare = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if bare == "true" || bare == "false" { return nil }
        return "must be a JSON object or a boolean"
    }
}
