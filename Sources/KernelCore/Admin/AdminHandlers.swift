import CKernelABI
import Dispatch
import Foundation

/// The operations of the admin protocol (`Protocols/admin-protocol.md`).
extension Kernel {
    /// Answers one admin request. Lifecycle operations run on the control
    /// queue; `call` waits for the call's completion on the connection's thread.
    func handleAdmin(_ request: [String: Any]) -> [String: Any] {
        let id = request["id"]
        let args = request["args"] as? [String: Any] ?? [:]
        guard let op = request["op"] as? String else {
            return AdminServer.error(id: id, code: "invalid_argument", message: "missing 'op'")
        }
        let result: Result<Any, KernelError>
        switch op {
        case "status": result = .success(control.sync { statusReport() })
        case "list": result = .success(control.sync { listReport() })
        case "endpoints": result = .success(endpointsReport())
        case "info":
            result = requireString(args, "name").flatMap { name in control.sync { infoReport(name) } }
        case "load":
            result = requireString(args, "path").flatMap { path in
                control.sync { lifecycleResult { () throws(RejectionError) in try load(path: path) } }
            }
        case "unload":
            result = requireString(args, "name").flatMap { name in
                control.sync {
                    do throws(KernelError) {
                        let leftBehind = try unload(name: name)
                        var result: [String: Any] = ["name": name]
                        if !leftBehind.isEmpty { result["left_behind"] = leftBehind }
                        return .success(result)
                    } catch {
                        return .failure(error)
                    }
                }
            }
        case "reload":
            result = requireString(args, "name").flatMap { name in
                control.sync { lifecycleResult { () throws(RejectionError) in try reload(name: name, path: args["path"] as? String) } }
            }
        case "release":
            result = requireString(args, "name").flatMap { name in control.sync { release(name: name) } }
        case "call":
            result = requireString(args, "endpoint").flatMap { adminCall($0, args) }
        default:
            result = .failure(KernelError(KN_ERR_INVALID_ARGUMENT, "unknown op '\(op)'"))
        }
        switch result {
        case .success(let value):
            var response: [String: Any] = ["ok": true, "result": value]
            if let id { response["id"] = id }
            return response
        case .failure(let error):
            let code = error.status == -1 ? "rejected" : Status.name(error.status)
            var details: [String: Any] = error.details
            if let list = error.details["dependents"] { details["dependents"] = list.split(separator: ",").map(String.init) }
            if let json = error.details["json"], let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) {
                details = object as? [String: Any] ?? [:]
            }
            return AdminServer.error(id: id, code: code, message: error.message, details: details)
        }
    }

    private func requireString(_ args: [String: Any], _ key: String) -> Result<String, KernelError> {
        guard let value = args[key] as? String, !value.isEmpty else {
            return .failure(KernelError(KN_ERR_INVALID_ARGUMENT, "missing argument '\(key)'"))
        }
        return .success(value)
    }

    private func lifecycleResult(_ body: () throws(RejectionError) -> PluginInstance) -> Result<Any, KernelError> {
        do {
            let instance = try body()
            return .success(["name": instance.name, "version": instance.image.version, "generation": instance.generation])
        } catch {
            if error.reason.hasPrefix("no plugin named") { return .failure(KernelError(KN_ERR_NOT_FOUND, error.reason)) }
            if error.reason.hasPrefix("a plugin named") { return .failure(KernelError(KN_ERR_CONFLICT, "rejected \(error.path): \(error.reason)")) }
            return .failure(KernelError(-1, "rejected \(error.path): \(error.reason)"))
        }
    }

    // MARK: Reports

    private func statusReport() -> [String: Any] {
        var report: [String: Any] = [
            "pid": Int(getpid()),
            "abi": ["major": Int(KN_ABI_MAJOR), "minor": Int(KN_ABI_MINOR)],
            "uptime_ms": Int(currentMilliseconds() - startedAt),
            "plugins_dir": options.pluginsDirectory,
            "data_dir": options.dataDirectory,
            "socket": options.socketPath,
            "plugins": plugins.count,
            "endpoints": registry.allEndpoints.count,
            "in_flight": plugins.values.reduce(0) { $0 + $1.callsInFlight },
            "listeners": listeners.all.map { ["host": $0.host, "port": Int($0.port), "plugin": $0.plugin] },
            "transports": registry.allTransports.map { ["name": $0.name, "plugin": $0.owner.name] },
            "jobs": ["succeeded": jobs.stats.succeeded, "failed": jobs.stats.failed],
            "supervised": options.supervisor != nil,
        ]
        if let link = options.supervisor {
            report["supervisor"] = ["pid": Int(link.supervisorPID), "worker_restarts": link.restarts]
        }
        return report
    }

    func summary(_ instance: PluginInstance) -> [String: Any] {
        [
            "name": instance.name,
            "version": instance.image.version,
            "state": instance.state.rawValue,
            "path": instance.image.sourcePath,
            "generation": instance.generation,
            "loaded_at_ms": Int(instance.loadedAt),
            "endpoints": instance.registrations.endpoints.count,
            "in_flight": instance.callsInFlight,
        ]
    }

    private func listReport() -> [String: Any] {
        [
            "plugins": loadOrder.compactMap { plugins[$0] }.map(summary),
            "rejected": rejected.sorted { $0.key < $1.key }.map { ["path": $0.key, "reason": $0.value.reason, "at_ms": Int($0.value.at)] },
            "quarantined": quarantineReport(),
        ]
    }

    private func infoReport(_ name: String) -> Result<Any, KernelError> {
        guard let instance = plugins[name] else { return .failure(KernelError(KN_ERR_NOT_FOUND, "no plugin named '\(name)'")) }
        let r = instance.registrations
        var info = summary(instance)
        info["description"] = instance.image.summary
        info["depends_on"] = instance.image.dependsOn
        info["dependents"] = plugins.values.filter { $0.image.dependsOn.contains(name) }.map(\.name).sorted()
        info["flags"] = instance.image.isUnloadSafe ? ["unload_safe"] : []
        info["image"] = instance.image.imagePath
        info["endpoints"] = r.endpoints.map { ["name": $0.name, "kind": $0.kindName, "description": $0.summary] }
        info["routes"] = r.routes.map { ["method": $0.method, "path": $0.pattern.description, "endpoint": $0.endpoint] }
        info["middleware"] = r.middleware.map { ["name": $0.name, "order": Int($0.order), "endpoints": $0.pattern] }
        info["error_handlers"] = r.errorHandlers.map { ["name": $0.name, "order": Int($0.order)] }
        info["transports"] = r.transports.map(\.name)
        info["jobs"] = r.jobs.map(\.name)
        info["schedules"] = r.schedules.map { ["name": $0.name, "spec": $0.spec, "job": $0.job, "time_zone": $0.timeZone ?? "UTC"] }
        info["event_handlers"] = r.eventHandlers.map(\.pattern.description)
        info["services"] = r.services.map { ["name": $0.name, "major": Int($0.major), "minor": Int($0.minor)] }
        info["metrics"] = instance.metricValues.mapValues { Int($0) }
        return .success(info)
    }

    private static func jsonValue(_ text: OwnedBuffer) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.array), options: [.fragmentsAllowed])
    }

    private func endpointsReport() -> [String: Any] {
        let routes = registry.allRoutes
        return ["endpoints": registry.allEndpoints.map { endpoint in
            var entry: [String: Any] = [
                "name": endpoint.name, "kind": endpoint.kindName, "plugin": endpoint.owner.name,
                "description": endpoint.summary, "idempotent": endpoint.idempotent,
                "routes": routes.filter { $0.endpoint == endpoint.name }.map { ["method": $0.method, "path": $0.pattern.description] },
            ]
            // The schemas as JSON values, for API documents (OpenAPI) built from this listing.
            if let schema = endpoint.requestSchema.flatMap(Self.jsonValue) { entry["request_schema"] = schema }
            if let schema = endpoint.responseSchema.flatMap(Self.jsonValue) { entry["response_schema"] = schema }
            return entry
        }, "error_handlers": registry.allErrorHandlers.map { ["name": $0.name, "order": Int($0.order), "plugin": $0.owner.name] }]
    }

    // MARK: call

    private func adminCall(_ endpoint: String, _ args: [String: Any]) -> Result<Any, KernelError> {
        let call = Call(kernel: self, protocolName: "admin")
        call.setEndpoint(endpoint)
        call.setBody(Array(((args["body"] as? String) ?? "").utf8),
                     contentType: args["content_type"] as? String ?? "application/json")
        call.setMeta("protocol", OwnedBuffer("admin"))
        for (key, value) in args["meta"] as? [String: Any] ?? [:] {
            call.setMeta(key, OwnedBuffer("\(value)"))
        }
        let done = DispatchSemaphore(value: 0)
        let box = OutcomeBox()
        call.dispatch(CompletionBox.callbacks { outcome in
            box.outcome = outcome
            done.signal()
        })
        guard done.wait(timeout: .now() + .seconds(60)) == .success, let outcome = box.outcome else {
            call.cancel()
            return .failure(KernelError(KN_ERR_TIMEOUT, "'\(endpoint)' did not complete within 60 s"))
        }
        guard outcome.isSuccess else {
            var error = KernelError(outcome.status, outcome.message)
            if !outcome.details.isEmpty { error.details["json"] = String(decoding: outcome.details, as: UTF8.self) }
            return .failure(error)
        }
        return .success(["content_type": outcome.contentType, "body": String(decoding: outcome.body, as: UTF8.self)])
    }
}

private final class OutcomeBox: @unchecked Sendable {
    var outcome: CallOutcome?
}
