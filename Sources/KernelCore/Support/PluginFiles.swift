import Glibc

/// The files of the plugins directory, and the copies of loaded images.
enum PluginFiles {
    /// The plugin files of `directory`, sorted by name.
    static func list(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var files: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if isPluginFileName(name) { files.append("\(directory)/\(name)") }
        }
        return files.sorted()
    }

    /// `*.so`, not hidden: editors and copy tools write hidden temporaries.
    static func isPluginFileName(_ name: String) -> Bool {
        name.hasSuffix(".so") && !name.hasPrefix(".")
    }

    /// Removes every file of `directory` (the image copies of an earlier run).
    static func removeAll(in directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { unlink("\(directory)/\(name)") }
        }
    }
}
