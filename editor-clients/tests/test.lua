-- Headless Neovim test: the real server and the stand-in (run.sh sets them up).
local verdict = {}
local function check(name, ok, detail)
  detail = vim.inspect(detail):gsub('\\n', ' | '):gsub('\n', ' | '):sub(1, 400)
  table.insert(verdict, (ok and 'PASS' or 'FAIL') .. ' nvim: ' .. name .. (ok and '' or (' -- ' .. detail)))
end
local function finish()
  local file = io.open(os.getenv('CONTENOX_TEST_VERDICT'), 'w')
  file:write(table.concat(verdict, '\n') .. '\n')
  file:close()
  vim.cmd('qa!')
end

local ok, err = pcall(function()
  vim.cmd('runtime plugin/contenox.lua')
  local contenox = require('contenox')
  contenox.setup({ cmd = vim.split(os.getenv('CONTENOX_TEST_CMD'), ' ', { plain = true }) })
  local function text(buf)
    return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  end
  local function wait_idle(buf, ms)
    return vim.wait(ms or 15000, function() return contenox.is_idle(buf) end, 20)
  end

  -- 1. A prompt streams into the buffer.
  local buf = contenox.new()
  contenox.chat('hello from neovim — ünïcode ✓', { buf = buf })
  wait_idle(buf)
  check('a prompt streams into the buffer',
    text(buf):find('## Assistant\nEcho: hello from neovim — ünïcode ✓\n', 1, true), text(buf))
  local session = vim.b[buf].contenox_session
  check('the result carries a session', type(session) == 'string' and #session > 0, session)

  -- 2. A follow-up continues the session.
  contenox.chat('second turn', { buf = buf })
  wait_idle(buf)
  check('a follow-up continues the session',
    text(buf):find('Echo: second turn', 1, true) and vim.b[buf].contenox_session == session, text(buf))
  -- The server got the sessionId: it holds both turns in one session.
  local got
  contenox.request('session/get', { sessionId = session }, function(e, r) got = { e = e, r = r } end)
  vim.wait(5000, function() return got ~= nil end, 20)
  local messages = got and got.r and got.r.session.messages or {}
  check('the server holds the follow-up in the same session', #messages == 4
    and vim.inspect(messages[1]):find('hello from neovim', 1, true)
    and vim.inspect(messages[3]):find('second turn', 1, true), got)

  -- :ContenoxChat with a range sends the lines as context and opens the chat buffer in a split.
  vim.cmd('enew')
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'first line of code', 'second line of code' })
  local source = vim.api.nvim_get_current_buf()
  vim.cmd('1,2ContenoxChat explain this')
  local chat = vim.api.nvim_get_current_buf()
  wait_idle(chat)
  check(':ContenoxChat with a range sends the lines as context', chat ~= source and vim.b[chat].contenox_chat
    and vim.fn.bufwinnr(source) > 0 and text(chat):find('Echo: explain this', 1, true)
    and text(chat):find('second line of code', 1, true), text(chat))

  -- 3. A cancel stops a slow stream, after some deltas arrived.
  local slow = contenox.new()
  contenox.chat('slow @@tokens=400 @@delay-ms=20', { buf = slow })
  local streamed = vim.wait(10000, function() return text(slow):find(' tok tok', 1, true) ~= nil end, 10)
  contenox.cancel(slow)
  wait_idle(slow, 5000)
  local _, count = text(slow):gsub(' tok', '')
  check('deltas arrive while the answer is generated', streamed, text(slow))
  check('a cancel stops a slow stream', text(slow):find('[cancelled]', 1, true) and count < 400, count)

  -- 4. An error shows its hint.
  local failing = contenox.new()
  contenox.chat('x @@fail=access-denied', { buf = failing })
  wait_idle(failing)
  check('an error shows its hint',
    text(failing):find('AccessDeniedException', 1, true) and text(failing):find('Model access', 1, true), text(failing))

  -- 5. Two chats stream at once into their own buffers.
  local a, b = contenox.new(), contenox.new()
  contenox.chat('alpha words here @@delay-ms=10', { buf = a })
  contenox.chat('beta other words @@delay-ms=10', { buf = b })
  wait_idle(a)
  wait_idle(b)
  check('two chats stream at once into their own buffers',
    text(a):find('Echo: alpha words here', 1, true) and text(b):find('Echo: beta other words', 1, true)
      and not text(a):find('beta', 1, true) and not text(b):find('alpha', 1, true), text(a) .. ' | ' .. text(b))

  -- 6. models/list.
  local models
  contenox.models(function(list) models = list end)
  vim.wait(5000, function() return models ~= nil end, 20)
  local ids = {}
  for _, model in ipairs(models or {}) do
    ids[model.id] = true
  end
  check('models/list answers', ids['amazon.nova-lite-v1:0'], models)

  local function answer(call)
    local got
    call(function(e, r) got = { e = e, r = r } end)
    vim.wait(5000, function() return got ~= nil end, 20)
    return got or {}
  end
  local set = answer(function(cb) contenox.config_set('default-model', 'amazon.nova-lite-v1:0', cb) end)
  check('config/set answers', not set.e and set.r and set.r.value == 'amazon.nova-lite-v1:0', set)
  local bad = answer(function(cb) contenox.config_set('no-such-key', 'x', cb) end)
  check('a config/set error reaches the callback', bad.e and bad.e.message:find('default-model', 1, true), bad)
  local added = answer(function(cb) contenox.backend_add('nvim-backend', 'us-west-2', nil, cb) end)
  check('backend/add answers', not added.e and added.r and added.r.backend.name == 'nvim-backend', added)

  -- The server dies while a chat streams: the chat ends, and the next prompt starts a new server.
  local dying = contenox.new()
  contenox.chat('dying @@tokens=400 @@delay-ms=20', { buf = dying })
  vim.wait(10000, function() return text(dying):find(' tok tok', 1, true) ~= nil end, 10)
  local old = contenox.job()
  os.execute('kill -9 ' .. vim.fn.jobpid(old))
  wait_idle(dying, 5000)
  check('a chat ends when the server dies', text(dying):find('ServerExited', 1, true), text(dying))
  local again = contenox.new()
  contenox.chat('after restart', { buf = again })
  wait_idle(again)
  check('the next prompt restarts the server', text(again):find('Echo: after restart', 1, true)
    and contenox.job() and contenox.job() ~= old, text(again))
  local log_lines = vim.api.nvim_buf_get_lines(contenox.log_buffer(), 0, -1, false)
  check("the server's stderr is in the log buffer", #log_lines > 2, log_lines)
end)
if not ok then
  check('no Lua error', false, err)
end
pcall(function() require('contenox').stop() end)
finish()
