import Glibc

/// Who may have written a plugin: the code the kernel runs in its own
/// address space. As sshd's StrictModes: a plugins directory or a plugin
/// file that a user other than the kernel's own (or root) owns or may
/// write is refused, with the reason. `--insecure-plugins-dir` turns the
/// check off.
enum PluginTrust {
    /// Why `path` (a plugin file or the plugins directory) is not trusted, or nil.
    static func problem(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil } // a missing path is reported where it is used
        let mine = getuid()
        if info.st_uid != mine && info.st_uid != 0 {
            return "\(what) \(path) is owned by uid \(info.st_uid), not by the kernel's user (uid \(mine)) or root"
        }
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0 {
            let who = mode & 0o002 != 0 ? "every user" : "its group"
            return "\(what) \(path) can be written by \(who) (mode \(String(mode, radix: 8))); "
                + "chmod go-w it, or start the kernel with --insecure-plugins-dir"
        }
        return nil
    }
}
