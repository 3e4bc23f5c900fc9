import Foundation
import PluginSignatures

/// A plugin image checked against the trust file: its bytes (the copy the
/// kernel maps), and the `.sig` file beside the source, if any.
enum PinnedPlugins {
    static func problem(image: String, source: String, trust: TrustFile) -> String? {
        guard let bytes = FileManager.default.contents(atPath: image) else { return "cannot read \(image)" }
        let signature = try? String(contentsOfFile: source + ".sig", encoding: .utf8)
        return trust.problem(plugin: [UInt8](bytes), signature: signature)
    }
}
