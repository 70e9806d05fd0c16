import Basics
import Bedrock
import JSON
import JSONRPC
import Locking

/// `contenox acp`: an Agent Client Protocol (v1) agent over the service layer. It maps ACP's messages to
/// the services' calls and their events and errors back to ACP; history, models, credentials and errors
/// are decided by the services, as for `contenox serve`.
public final class ACPAgent: Sendable {
    /// A session opened on this connection (`session/new`, `load` or `resume`).
    private struct LiveSession {
        var cwd: String
        /// Prompts running in it, by a token of their own, so `session/cancel` can stop them.
        var prompts: [UInt64: Task<Result<JSONValue, ResponseError>, Never>] = [:]
        /// toolResults owed to the model (a prompt stopped at the turn limit or was cancelled between a
        /// toolUse and its result): Bedrock refuses a history whose toolUse has no result, so they go first in
        /// the next prompt.
        var owedResults: [ContentBlock] = []
    }

    private struct State {
        var canRead = false
        var canWrite = false
        var sessions: [String: LiveSession] = [:]
        var nextToken: UInt64 = 0
        /// The live model list of each backend (by name), asked once per process.
        var liveModels: [String: [ModelEntry]] = [:]
    }

    public let services: Services
    public let version: String
    /// Model calls one prompt may make (each tool round is one more); past it the prompt answers
    /// `max_turn_requests`.
    public let maxModelCalls: Int
    private let state = LockedValue(State())

    public init(services: Services, version: String, maxModelCalls: Int = 16) {
        self.services = services
        self.version = version
        self.maxModelCalls = maxModelCalls
    }

    /// A service failure as ACP's error: editors show only `message`, so it carries the hint too.
    public static func error(_ error: ServiceError) -> ResponseError {
        ResponseError(code: .forKind(error.kind), message: error.description, data: error.data)
    }

    public func methodTable() -> MethodTable {
        var table = MethodTable()
        table.register(ACPInitializeRequest.self) { [self] request, _ in initialize(request) }
        table.register(ACPAuthenticateRequest.self) { _, _ in [:] }
        table.register(ACPNewSessionRequest.self) { [self] request, _ throws(ResponseError) in
            let record: SessionRecord
            do throws(ServiceError) {
                record = try services.createSession(cwd: request.cwd)
            } catch {
                throw Self.error(error)
            }
            open(record.id, cwd: request.cwd)
            // The first prompt will go to this session's backend: open its connection now (issue 16).
            services.prewarm(backend: record.backend)
            var result: JSONObject = ["sessionId": .string(record.id)]
            if let options = await configOptions(record) { result["configOptions"] = options }
            return .object(result)
        }
        table.register(ACPLoadSessionRequest.self) { [self] request, context throws(ResponseError) in
            let record = try await reopen(request)
            // The whole history goes out before the answer: the client stops listening for a load's updates
            // once it is answered.
            for message in record.messages {
                for update in ACPMapping.replay(role: message.role, content: message.content) {
                    await context.notify(ACPSessionUpdate(sessionID: request.sessionID, update: update))
                }
            }
            return .object(await configOptions(record.session).map { ["configOptions": $0] } ?? [:])
        }
        table.register(ACPResumeSessionRequest.self) { [self] request, _ throws(ResponseError) in
            let record = try await reopen(request.session)
            return .object(await configOptions(record.session).map { ["configOptions": $0] } ?? [:])
        }
        table.register(ACPListSessionsRequest.self) { [self] request, _ throws(ResponseError) in
            let sessions: [SessionRecord]
            do throws(ServiceError) {
                sessions = try services.sessions()
            } catch {
                throw Self.error(error)
            }
            // Sessions made over ACP: the others have no working directory to report.
            let listed = sessions.compactMap { session -> JSONValue? in
                guard let cwd = session.cwd, request.cwd == nil || request.cwd == cwd else { return nil }
                return [
                    "sessionId": .string(session.id), "cwd": .string(cwd), "title": .string(session.title),
                    "updatedAt": .string(session.updatedAt),
                ]
            }
            return ["sessions": .array(listed)]
        }
        table.register(ACPCloseSessionRequest.self) { [self] request, _ in
            close(request.sessionID)
            return [:]
        }
        table.register(ACPDeleteSessionRequest.self) { [self] request, _ throws(ResponseError) in
            close(request.sessionID)
            do throws(ServiceError) {
                try services.deleteSession(id: request.sessionID)
            } catch {
                throw Self.error(error)
            }
            return [:]
        }
        table.register(ACPSetConfigOptionRequest.self) { [self] request, context throws(ResponseError) in
            guard request.configID == Self.modelOption else {
                throw .invalidParams("invalid params: no config option \(request.configID.quoted())")
            }
            let record: SessionRecord
            do throws(ServiceError) {
                try services.setSessionModel(id: request.sessionID, model: request.value)
                record = try services.session(id: request.sessionID).0
            } catch {
                throw Self.error(error)
            }
            let options = await configOptions(record) ?? []
            await context.notify(
                ACPSessionUpdate(
                    sessionID: request.sessionID,
                    update: ["sessionUpdate": "config_option_update", "configOptions": options]))
            return ["configOptions": options]
        }
        // A prompt takes its session's turn as it arrives, as chat/stream does.
        table.registerInArrivalOrder(ACPPromptRequest.self) { [self] request, context in
            let turn = services.reserveTurn(sessionID: request.sessionID)
            return { () async throws(ResponseError) -> JSONValue in
                try await self.runPrompt(request, context: context, turn: turn)
            }
        }
        table.registerNotification(ACPCancelNotification.method) { [self] params in
            guard let id = params?["sessionId"]?.stringValue else { return }
            cancelPrompts(id)
        }
        return table
    }

    // MARK: initialize

    private func initialize(_ request: ACPInitializeRequest) -> JSONValue {
        state.withLock { state in
            state.canRead = request.canReadFiles
            state.canWrite = request.canWriteFiles
        }
        let apiKeyVariables = ((try? services.backends()) ?? []).compactMap(\.apiKeyEnv)
        var variables: [JSONValue] = ["AWS_PROFILE", "AWS_REGION"].map { ["name": .string($0), "optional": true] }
        variables += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"].map
        {
            ["name": .string($0), "optional": true, "secret": .bool($0 != "AWS_ACCESS_KEY_ID")]
        }
        variables += Set(apiKeyVariables).sorted().map { ["name": .string($0), "optional": true, "secret": true] }
        return [
            // Version 1 is the only one there is: it is the answer to any version asked for.
            "protocolVersion": 1,
            "agentInfo": ["name": "contenox", "title": "Contenox (Amazon Bedrock)", "version": .string(version)],
            "agentCapabilities": [
                "loadSession": true,
                "promptCapabilities": ["image": true, "audio": false, "embeddedContext": true],
                "sessionCapabilities": ["list": [:], "resume": [:], "close": [:], "delete": [:]],
            ],
            "authMethods": .array(
                [
                    [
                        "type": "env_var", "id": "aws-environment", "name": "AWS credentials",
                        "description": .string(
                            "contenox finds credentials as the AWS CLI does: the variables below, AWS_PROFILE and "
                                + "~/.aws (run `aws sso login` or `aws login` for a profile that needs it), or a "
                                + "backend's --api-key-env variable. `contenox backend check` tests them."),
                        "vars": .array(variables),
                    ]
                ] + terminalSignIn(request)),
        ]
    }

    /// For a client that runs sign-ins in a terminal, and a profile that signs in now and then (IAM Identity
    /// Center, `aws login`): `contenox login`, which runs that profile's AWS CLI sign-in.
    private func terminalSignIn(_ request: ACPInitializeRequest) -> [JSONValue] {
        guard request.canRunTerminalAuth, let command = AWSSignIn.command(environment: services.environment) else {
            return []
        }
        return [
            [
                "type": "terminal", "id": "aws-sign-in", "name": "Sign in to AWS",
                "description": .string("Runs `\(command.joined(separator: " "))` in a terminal"),
                "args": ["login"],
            ]
        ]
    }

    // MARK: Sessions

    private static let modelOption = "model"

    private func open(_ id: String, cwd: String) {
        state.withLock { state in
            if state.sessions[id] == nil {
                state.sessions[id] = LiveSession(cwd: cwd)
            } else {
                state.sessions[id]?.cwd = cwd
            }
        }
    }

    private func reopen(_ request: ACPLoadSessionRequest) async throws(ResponseError) -> SessionDetail {
        do throws(ServiceError) {
            let detail = try services.sessionDetail(id: request.sessionID)
            try services.setSessionDirectory(id: request.sessionID, cwd: request.cwd)
            open(request.sessionID, cwd: request.cwd)
            return detail
        } catch {
            throw Self.error(error)
        }
    }

    private func close(_ id: String) {
        cancelPrompts(id)
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    private func cancelPrompts(_ id: String) {
        let prompts = state.withLock { $0.sessions[id]?.prompts.values.map { $0 } ?? [] }
        for prompt in prompts { prompt.cancel() }
    }

    /// The model option: the models the session's backend lists (its control plane's live list when it
    /// answers, else the catalog), with the session's model first when the list lacks it. Nil when the
    /// session has no model yet.
    private func configOptions(_ session: SessionRecord) async -> JSONValue? {
        guard let current = session.model else { return nil }
        let models = await models(backend: session.backend)
        var options: [JSONValue] = models.map { ["value": .string($0.model.id), "name": .string($0.model.name)] }
        if !models.contains(where: { $0.model.id == current }) {
            options.insert(["value": .string(current), "name": .string(current)], at: 0)
        }
        return [
            [
                "id": .string(Self.modelOption), "name": "Model", "description": "The Bedrock model of this session",
                "category": "model", "type": "select", "currentValue": .string(current), "options": .array(options),
            ]
        ]
    }

    private func models(backend: String?) async -> [ModelEntry] {
        if let backend, let cached = state.withLock({ $0.liveModels[backend] }) { return cached }
        guard let live = try? await services.models(backend: backend, live: true), let first = live.first else {
            return (try? await services.models(backend: backend, live: false)) ?? []
        }
        state.withLock { $0.liveModels[first.backend] = live }
        return live
    }

    // MARK: Prompts

    /// Runs a prompt in a task of its own, listed under its session so that `session/cancel` stops it.
    private func runPrompt(
        _ request: ACPPromptRequest, context: RequestContext, turn: SessionTurn?
    ) async throws(ResponseError) -> JSONValue {
        let id = request.sessionID
        let task = Task { await prompt(request, context: context, turn: turn) }
        let token = state.withLock { state -> UInt64? in
            guard state.sessions[id] != nil else { return nil }
            state.nextToken += 1
            state.sessions[id]?.prompts[state.nextToken] = task
            return state.nextToken
        }
        guard let token else {
            task.cancel()
            throw .invalidParams(
                "invalid params: session \(id.quoted()) is not open on this connection; "
                    + "open it with session/new, session/load or session/resume")
        }
        defer { _ = state.withLock { $0.sessions[id]?.prompts.removeValue(forKey: token) } }
        return try await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }.get()
    }

    private func prompt(
        _ request: ACPPromptRequest, context: RequestContext, turn reserved: SessionTurn?
    ) async -> Result<JSONValue, ResponseError> {
        let id = request.sessionID
        let (cwd, canRead, canWrite, owed) = state.withLock { state in
            defer { state.sessions[id]?.owedResults = [] }
            return (
                state.sessions[id]?.cwd ?? "/", state.canRead, state.canWrite, state.sessions[id]?.owedResults ?? []
            )
        }
        var usages: [JSONValue] = []
        do {
            var content = owed
            for block in request.prompt {
                switch try ACPMapping.promptPart(block) {
                case .content(let converted):
                    content.append(converted)
                case .link(let uri, let name):
                    content.append(.text(await linked(uri: uri, name: name, session: id, canRead: canRead, context)))
                }
            }
            let tools = ACPTools.toolConfig(canRead: canRead, canWrite: canWrite)
            var turn = reserved
            for call in 1...maxModelCalls {
                var chat = ChatRequest(prompt: nil, content: content, sessionID: id)
                chat.toolConfig = tools
                let result = try await services.chat(chat, streaming: true, turn: turn) { event in
                    if let update = Self.update(for: event) {
                        await context.notify(ACPSessionUpdate(sessionID: id, update: update))
                    }
                }
                turn = nil
                usages.append(result.usage)
                if let update = ACPMapping.usageUpdate(result.usage, model: result.model) {
                    await context.notify(ACPSessionUpdate(sessionID: id, update: update))
                }
                let uses = result.message.content.compactMap { block -> (String, String, JSONValue)? in
                    if case .toolUse(let use, let name, let input) = block { return (use, name, input) }
                    return nil
                }
                guard result.stopReason == "tool_use", !uses.isEmpty else {
                    return .success(
                        [
                            "stopReason": .string(ACPMapping.stopReason(result.stopReason)),
                            "usage": ACPMapping.usage(usages),
                        ])
                }
                var results: [ContentBlock] = []
                for (use, name, input) in uses {
                    let json = await runTool(
                        id: use, name: name, input: input, session: id, cwd: cwd, canRead: canRead, canWrite: canWrite,
                        context)
                    results.append(try ContentBlock(json: json))
                }
                if Task.isCancelled || call == maxModelCalls {
                    state.withLock { $0.sessions[id]?.owedResults = results }
                    let reason = Task.isCancelled ? "cancelled" : "max_turn_requests"
                    return .success(["stopReason": .string(reason), "usage": ACPMapping.usage(usages)])
                }
                content = results
            }
            return .success(["stopReason": "max_turn_requests", "usage": ACPMapping.usage(usages)])
        } catch {
            if Task.isCancelled || error is CancellationError {
                return .success(["stopReason": "cancelled", "usage": ACPMapping.usage(usages)])
            }
            if let error = error as? ServiceError { return .failure(Self.error(error)) }
            if let error = error as? ResponseError { return .failure(error) }
            return .failure(.internalError("internal error: \(error)"))
        }
    }

    /// A chat event as the `session/update` that shows it, if any: text as `agent_message_chunk`,
    /// reasoning as `agent_thought_chunk` (tool calls are shown as they run).
    static func update(for event: ChatEvent) -> JSONValue? {
        switch event {
        case .text(_, let text):
            return ACPMapping.chunk("agent_message_chunk", ["type": "text", "text": .string(text)])
        case .delta(_, let delta):
            guard let text = delta["reasoningContent"]?["text"]?.stringValue else { return nil }
            return ACPMapping.chunk("agent_thought_chunk", ["type": "text", "text": .string(text)])
        case .started, .blockStart:
            return nil
        case .retrying:
            // ACP has no status update; a retry shows as the wait before the first chunk.
            return nil
        }
    }

    /// A `resource_link`'s text: read through the client when it is a file the client can read, else named.
    private func linked(
        uri: String, name: String, session: String, canRead: Bool, _ context: RequestContext
    ) async -> String {
        guard canRead, uri.hasPrefix("file://") else { return ACPMapping.linkText(uri: uri, name: name) }
        let path = String(uri.dropFirst("file://".count))
        do {
            let result = try await context.request(
                ACPClientMethod.readTextFile, ["sessionId": .string(session), "path": .string(path)])
            return ACPMapping.fileText(uri: uri, text: result["content"]?.stringValue ?? "")
        } catch {
            return ACPMapping.linkText(uri: uri, name: name)
        }
    }

    // MARK: Tools

    /// Runs one toolUse through the client, showing it as `tool_call` and `tool_call_update`s; returns its
    /// toolResult (an error result when it is refused, fails or is cancelled).
    private func runTool(
        id: String, name: String, input: JSONValue, session: String, cwd: String, canRead: Bool, canWrite: Bool,
        _ context: RequestContext
    ) async -> JSONValue {
        func show(_ update: JSONValue) async {
            await context.notify(ACPSessionUpdate(sessionID: session, update: update))
        }
        func finish(_ text: String, failed: Bool) async -> JSONValue {
            await show([
                "sessionUpdate": "tool_call_update", "toolCallId": .string(id),
                "status": .string(failed ? "failed" : "completed"),
                "content": [["type": "content", "content": ["type": "text", "text": .string(text)]]],
            ])
            return ACPTools.result(id: id, text: text, failed: failed)
        }
        let path = input["path"]?.stringValue ?? ""
        let absolute = ACPMapping.resolve(path, in: cwd)
        var shown = input.objectValue ?? [:]
        if let absolute { shown["path"] = .string(absolute) }
        let call = ACPMapping.toolCall(id: id, name: name, input: .object(shown), status: "pending")
        await show(call)
        guard (name == ACPTools.readFile && canRead) || (name == ACPTools.writeFile && canWrite) else {
            return await finish("there is no tool named \(name.quoted())", failed: true)
        }
        guard let absolute else {
            return await finish("\(path.quoted()) is outside the project directory \(cwd)", failed: true)
        }
        do throws(ResponseError) {
            if name == ACPTools.readFile {
                await show(["sessionUpdate": "tool_call_update", "toolCallId": .string(id), "status": "in_progress"])
                let result = try await context.request(
                    ACPClientMethod.readTextFile, ["sessionId": .string(session), "path": .string(absolute)])
                return await finish(result["content"]?.stringValue ?? "", failed: false)
            }
            guard let text = input["content"]?.stringValue else {
                return await finish("write_file needs a content string", failed: true)
            }
            var asked = call.objectValue ?? [:]
            asked["sessionUpdate"] = nil
            let answer = try await context.request(
                ACPClientMethod.requestPermission,
                [
                    "sessionId": .string(session), "toolCall": .object(asked),
                    "options": [
                        ["optionId": "allow", "name": "Allow", "kind": "allow_once"],
                        ["optionId": "reject", "name": "Reject", "kind": "reject_once"],
                    ],
                ])
            guard answer["outcome"]?["outcome"]?.stringValue == "selected",
                answer["outcome"]?["optionId"]?.stringValue == "allow"
            else {
                return await finish("the user did not allow writing \(absolute)", failed: true)
            }
            await show(["sessionUpdate": "tool_call_update", "toolCallId": .string(id), "status": "in_progress"])
            _ = try await context.request(
                ACPClientMethod.writeTextFile,
                ["sessionId": .string(session), "path": .string(absolute), "content": .string(text)])
            return await finish("wrote \(text.utf8.count) bytes to \(absolute)", failed: false)
        } catch {
            return await finish("\(name) failed: \(error.message)", failed: true)
        }
    }
}
