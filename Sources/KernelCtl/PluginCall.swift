import Foundation

// The operator views of plugins (`storage`, `scheduler`) call the plugin's
// admin-only endpoints through the admin `call` operation, so the kernel
// needs no plugin-specific code.

extension Context {
    /// Calls `endpoint` of `plugin` with `body` through the admin `call`
    /// operation and returns its JSON answer. When the kernel has no such
    /// endpoint, the error asks whether `plugin` is loaded.
    func callPlugin(_ plugin: String, _ endpoint: String, _ body: JSONObject) throws(CtlError) -> JSONObject {
        let text: String
        do {
            text = String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes]), as: UTF8.self)
        } catch {
            throw .transport("cannot encode request: \(error)")
        }
        let result: JSONObject
        do {
            result = try request("call", ["endpoint": endpoint, "body": text])
        } catch .kernel(let code, let message, let details)
            where code == "not_found" && message.contains("endpoint named '\(endpoint)'") {
            // The kernel's own answer for an unknown endpoint, not the plugin's not_found.
            throw .kernel(code: code, message: "\(message) (is the \(plugin) plugin loaded?)", details: details)
        }
        let answer = result["body"] as? String ?? "{}"
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? JSONObject else {
            throw .transport("invalid answer from \(endpoint): not a JSON object")
        }
        return object
    }
}
