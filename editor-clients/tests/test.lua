-- Headless Neovim test: the real server and the stand-in (run.sh sets them up).
local verdict = {}
local function check(name, ok, detail)
  table.insert(verdict, (ok and 'PASS' or 'FAIL') .. ' nvim: ' .. name .. (ok and '' or (' -- ' .. tostring(detail))))
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
  contenox.chat('hello from neovim', { buf = buf })
  wait_idle(buf)
  check('a prompt streams into the buffer', text(buf):find('Echo: hello from neovim', 1, true), text(buf))
  local session = vim.b[buf].contenox_session
  check('the result carries a session', type(session) == 'string' and #session > 0, session)

  -- 2. A follow-up continues the session.
  contenox.chat('second turn', { buf = buf })
  wait_idle(buf)
  check('a follow-up continues the session',
    text(buf):find('Echo: second turn', 1, true) and vim.b[buf].contenox_session == session, text(buf))

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
  check('models/list answers', models and #models > 0, models)
end)
if not ok then
  check('no Lua error', false, err)
end
pcall(function() require('contenox').stop() end)
finish()
