--- contenox.nvim: chat with Amazon Bedrock models through `contenox serve`.
---
--- The server is started lazily, once per editor, and restarted if it dies. Messages are framed with
--- Content-Length over `jobstart` (not `vim.lsp.rpc`), which behaves the same on Neovim 0.7 and 0.10+
--- and sees every response, including the -32800 that answers a cancelled request.
local M = {}

M.options = {
  cmd = { 'contenox', 'serve' }, -- the server command
  model = nil, -- model id for new chats (nil: the server's default-model)
  backend = nil, -- backend name (nil: the server's default-provider)
}

local state = {
  job = nil, -- the running server's job id
  pending = {}, -- request id -> { job = job id, callback = function(err, result) }
  chats = {}, -- request id -> { buf = bufnr }
  next_id = 0,
  log_buf = nil,
}

--- Merges `opts` into `M.options`.
function M.setup(opts)
  M.options = vim.tbl_deep_extend('force', M.options, opts or {})
end

local function log(text)
  if not state.log_buf or not vim.api.nvim_buf_is_valid(state.log_buf) then
    state.log_buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(state.log_buf, 'contenox://log')
  end
  local lines = vim.split(text, '\n', { plain = true })
  -- pcall: a server exiting while Neovim quits may log into a buffer that is being wiped.
  pcall(vim.api.nvim_buf_set_lines, state.log_buf, -1, -1, false, lines)
end

--- The buffer holding the server's stderr.
function M.log_buffer()
  log('')
  return state.log_buf
end

local function send(message)
  message.jsonrpc = '2.0'
  local body = vim.fn.json_encode(message)
  vim.fn.chansend(state.job, 'Content-Length: ' .. #body .. '\r\n\r\n' .. body)
end

local function null_to_nil(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

local handle_notification

local function handle(message)
  if message.method ~= nil then
    handle_notification(message.method, null_to_nil(message.params) or {})
    return
  end
  local entry = state.pending[message.id]
  state.pending[message.id] = nil
  if entry then
    entry.callback(null_to_nil(message.error), null_to_nil(message.result))
  end
end

-- A reader of one server's stdout: Content-Length frames, fed any split of the bytes.
local function frame_reader()
  local input = ''
  return function(_, data)
    -- jobstart splits output at newlines; joining with "\n" restores the bytes exactly.
    input = input .. table.concat(data, '\n')
    while true do
      local header_end = input:find('\r\n\r\n', 1, true)
      if not header_end then
        return
      end
      local length = tonumber(input:sub(1, header_end):lower():match('content%-length:%s*(%d+)'))
      if not length then
        log('contenox.nvim: bad frame header from the server')
        input = input:sub(header_end + 4)
      else
        local body_start = header_end + 4
        if #input < body_start + length - 1 then
          return
        end
        local body = input:sub(body_start, body_start + length - 1)
        input = input:sub(body_start + length)
        local ok, message = pcall(vim.fn.json_decode, body)
        if ok and type(message) == 'table' then
          handle(message)
        else
          log('contenox.nvim: unreadable message from the server')
        end
      end
    end
  end
end

-- A server exited: its requests still waiting fail (a later server is left alone).
local function on_exit(job, code)
  log('contenox serve exited with code ' .. tostring(code))
  if state.job == job then
    state.job = nil
  end
  for id, entry in pairs(state.pending) do
    if entry.job == job then
      state.pending[id] = nil
      entry.callback({ code = -32099, message = 'contenox serve exited (code ' .. tostring(code) .. ')',
        data = { type = 'ServerExited', hint = 'The next prompt restarts it; :ContenoxLog shows its stderr.' } }, nil)
    end
  end
end

local function ensure_started()
  if state.job then
    return true
  end
  local job = vim.fn.jobstart(M.options.cmd, {
    on_stdout = frame_reader(),
    on_stderr = function(_, data)
      local text = table.concat(data, '\n')
      if text ~= '' then
        log(text)
      end
    end,
    on_exit = on_exit,
  })
  if job <= 0 then
    vim.notify('contenox: cannot start ' .. table.concat(M.options.cmd, ' '), vim.log.levels.ERROR)
    return false
  end
  state.job = job
  state.next_id = state.next_id + 1
  local init_id = state.next_id
  state.pending[init_id] = { job = job, callback = function(err)
    if err then
      log('initialize failed: ' .. tostring(err.message))
    else
      send({ method = 'initialized' })
    end
  end }
  send({ id = init_id, method = 'initialize', params = { clientInfo = { name = 'contenox.nvim', version = '0.1.0' } } })
  return true
end

--- Sends a request; `callback(err, result)` runs on the main loop. Returns the request id.
function M.request(method, params, callback)
  if not ensure_started() then
    return nil
  end
  state.next_id = state.next_id + 1
  local id = state.next_id
  state.pending[id] = { job = state.job, callback = callback or function() end }
  local message = { id = id, method = method }
  if params ~= nil then
    message.params = params
  end
  send(message)
  return id
end

--- Sends a notification.
function M.notify(method, params)
  if ensure_started() then
    send({ method = method, params = params })
  end
end

-- Chat buffers ------------------------------------------------------------------------------------

local function append(buf, text)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local pieces = vim.split(text, '\n', { plain = true })
  local last = vim.api.nvim_buf_line_count(buf)
  local line = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ''
  pieces[1] = line .. pieces[1]
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, pieces)
end

handle_notification = function(method, params)
  if method ~= 'chat/delta' and method ~= 'chat/blockStart' then
    return
  end
  local chat = state.chats[params.requestId]
  if not chat then
    return
  end
  if method == 'chat/delta' then
    local delta = params.delta or {}
    if delta.text then
      append(chat.buf, delta.text)
    elseif type(delta.reasoningContent) == 'table' and delta.reasoningContent.text then
      append(chat.buf, delta.reasoningContent.text)
    end
  elseif type(params.start) == 'table' and params.start.toolUse then
    append(chat.buf, '\n[tool use: ' .. tostring(params.start.toolUse.name) .. '] ')
  end
end

--- Opens a new chat buffer (a new session) and returns it.
function M.new()
  local buf = vim.api.nvim_create_buf(true, true)
  vim.bo[buf].filetype = 'markdown'
  vim.api.nvim_buf_set_name(buf, 'contenox://chat/' .. buf)
  vim.b[buf].contenox_chat = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { '# contenox chat' })
  return buf
end

local function chat_buffer(buf)
  if buf and vim.api.nvim_buf_is_valid(buf) then
    return buf
  end
  local current = vim.api.nvim_get_current_buf()
  if vim.b[current].contenox_chat then
    return current
  end
  buf = M.new()
  vim.cmd('sbuffer ' .. buf)
  return buf
end

--- True when no chat is streaming into `buf`.
function M.is_idle(buf)
  return vim.b[buf].contenox_request == nil
end

--- Sends `prompt` (with `opts.context`, e.g. a selection) in the chat of `opts.buf` (default: the current
--- chat buffer, else a new one); the answer streams into the buffer. Returns the request id.
function M.chat(prompt, opts)
  opts = opts or {}
  local buf = chat_buffer(opts.buf)
  if vim.b[buf].contenox_request then
    vim.notify('contenox: a chat is already streaming in this buffer; :ContenoxCancel stops it', vim.log.levels.WARN)
    return nil
  end
  local text = prompt
  if opts.context and opts.context ~= '' then
    text = prompt .. '\n\n```\n' .. opts.context .. '\n```'
  end
  append(buf, '\n\n## You\n' .. text .. '\n\n## Assistant\n')
  local params = { prompt = text }
  params.sessionId = vim.b[buf].contenox_session
  params.model = vim.b[buf].contenox_model or M.options.model
  params.backend = M.options.backend
  local id
  id = M.request('chat/stream', params, function(err, result)
    state.chats[id] = nil
    if vim.api.nvim_buf_is_valid(buf) then
      vim.b[buf].contenox_request = nil
    end
    if err then
      if err.code == -32800 then
        append(buf, '\n[cancelled]')
        return
      end
      local data = null_to_nil(err.data) or {}
      local hint = null_to_nil(data.hint)
      append(buf, '\n**Error** (' .. tostring(null_to_nil(data.type) or err.code) .. '): ' .. tostring(err.message)
        .. (hint and ('\nHint: ' .. hint) or ''))
      return
    end
    vim.b[buf].contenox_session = result.sessionId
    append(buf, '\n')
  end)
  if id then
    state.chats[id] = { buf = buf }
    vim.b[buf].contenox_request = id
  end
  return id
end

--- Cancels the chat streaming into `buf` (default: the current buffer).
function M.cancel(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local id = vim.b[buf].contenox_request
  if not id then
    return
  end
  M.notify('$/cancelRequest', { id = id })
end

--- Picks a model with vim.ui.select and makes it the default (config/set default-model), or with
--- `opts.buffer_only` the model of the current chat buffer (vim.b.contenox_model).
function M.select_model(opts)
  opts = opts or {}
  local buf = vim.api.nvim_get_current_buf()
  M.models(function(models)
    local ids = {}
    for _, model in ipairs(models) do
      table.insert(ids, model.id)
    end
    vim.ui.select(ids, { prompt = 'contenox model' }, function(choice)
      if not choice then
        return
      elseif opts.buffer_only then
        vim.b[buf].contenox_model = choice
      else
        M.config_set('default-model', choice)
      end
    end)
  end)
end

-- Shows a failed request's message and hint, then passes the answer on.
local function reporting(callback)
  return function(err, result)
    if err then
      local hint = type(err.data) == 'table' and null_to_nil(err.data.hint)
      vim.notify('contenox: ' .. tostring(err.message) .. (hint and ('\n' .. hint) or ''), vim.log.levels.ERROR)
    end
    if callback then
      callback(err, result)
    end
  end
end

--- Lists models: `callback(models)` gets the list from models/list (an error is shown with its hint).
function M.models(callback)
  M.request('models/list', nil, reporting(function(err, result)
    if not err then
      callback(result.models)
    end
  end))
end

--- Sets a configuration key (default-model, default-provider).
function M.config_set(key, value, callback)
  M.request('config/set', { key = key, value = value }, reporting(callback))
end

--- Adds a Bedrock backend: `url` is an endpoint or a bare region.
function M.backend_add(name, url, region, callback)
  M.request('backend/add', { name = name, type = 'bedrock', url = url, region = region }, reporting(callback))
end

--- Stops the server.
function M.stop()
  if state.job then
    vim.fn.jobstop(state.job)
    state.job = nil
  end
end

--- The running server's job id, or nil.
function M.job()
  return state.job
end

return M
