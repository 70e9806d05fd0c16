" Headless Vim test: the real server and the stand-in (run.sh sets them up).
let s:verdict = []
function! s:Check(name, ok, detail) abort
  let detail = strcharpart(substitute(a:detail, '\n', ' | ', 'g'), 0, 400)
  call add(s:verdict, (a:ok ? 'PASS' : 'FAIL') . ' vim: ' . a:name . (a:ok ? '' : ' -- ' . detail))
endfunction
function! s:Text(buf) abort
  return join(getbufline(a:buf, 1, '$'), "\n")
endfunction
function! s:Wait(Cond, ms) abort
  let waited = 0
  while !a:Cond() && waited < a:ms
    sleep 20m
    let waited += 20
  endwhile
  return a:Cond()
endfunction

function! s:Run() abort
  runtime plugin/contenox.vim
  let g:contenox_command = split($CONTENOX_TEST_CMD, ' ')

  let buf = contenox#new()
  call contenox#chat('hello from vim — ünïcode ✓', buf)
  call s:Wait({-> contenox#idle(buf)}, 15000)
  call s:Check('a prompt streams into the buffer',
        \ stridx(s:Text(buf), "## Assistant\nEcho: hello from vim — ünïcode ✓\n") >= 0, s:Text(buf))
  let session = getbufvar(buf, 'contenox_session', v:null)
  call contenox#chat('second turn', buf)
  call s:Wait({-> contenox#idle(buf)}, 15000)
  call s:Check('a follow-up continues the session', stridx(s:Text(buf), 'Echo: second turn') >= 0
        \ && session isnot v:null && getbufvar(buf, 'contenox_session') ==# session, s:Text(buf))
  " The server got the sessionId: it holds both turns in one session.
  let got = {'done': 0}
  call contenox#request('session/get', {'sessionId': session}, {e, r -> extend(got, {'done': 1, 'e': e, 'r': r})})
  call s:Wait({-> got.done}, 5000)
  let messages = got.done && got.e is v:null ? got.r.session.messages : []
  call s:Check('the server holds the follow-up in the same session', len(messages) == 4
        \ && stridx(string(messages[0]), 'hello from vim') >= 0 && stridx(string(messages[2]), 'second turn') >= 0,
        \ string(got))

  " :ContenoxChat with a range sends the lines as context and shows the chat buffer.
  enew
  call setline(1, ['first line of code', 'second line of code'])
  let source = bufnr('%')
  1,2ContenoxChat explain this
  let chat = bufnr('%')
  call s:Wait({-> contenox#idle(chat)}, 15000)
  call s:Check(':ContenoxChat with a range sends the lines as context', chat != source
        \ && getbufvar(chat, 'contenox_chat', 0) && bufwinnr(source) > 0
        \ && stridx(s:Text(chat), 'Echo: explain this') >= 0 && stridx(s:Text(chat), 'second line of code') >= 0,
        \ s:Text(chat))

  let slow = contenox#new()
  call contenox#chat('slow @@tokens=400 @@delay-ms=20', slow)
  let streamed = s:Wait({-> stridx(s:Text(slow), ' tok tok') >= 0}, 10000)
  call contenox#cancel(slow)
  call s:Wait({-> contenox#idle(slow)}, 5000)
  call s:Check('deltas arrive while the answer is generated', streamed, s:Text(slow))
  call s:Check('a cancel stops a slow stream', stridx(s:Text(slow), '[cancelled]') >= 0
        \ && count(s:Text(slow), ' tok') < 400, s:Text(slow)[-200:])

  let failing = contenox#new()
  call contenox#chat('x @@fail=access-denied', failing)
  call s:Wait({-> contenox#idle(failing)}, 15000)
  call s:Check('an error shows its hint', stridx(s:Text(failing), 'AccessDeniedException') >= 0
        \ && stridx(s:Text(failing), 'Model access') >= 0, s:Text(failing))

  let a = contenox#new()
  let b = contenox#new()
  call contenox#chat('alpha words here @@delay-ms=10', a)
  call contenox#chat('beta other words @@delay-ms=10', b)
  call s:Wait({-> contenox#idle(a) && contenox#idle(b)}, 15000)
  call s:Check('two chats stream at once into their own buffers',
        \ stridx(s:Text(a), 'Echo: alpha words here') >= 0 && stridx(s:Text(b), 'Echo: beta other words') >= 0
        \ && stridx(s:Text(a), 'beta') < 0 && stridx(s:Text(b), 'alpha') < 0, s:Text(a) . ' | ' . s:Text(b))

  let got = {'models': v:null}
  call contenox#models({models -> extend(got, {'models': models})})
  call s:Wait({-> got.models isnot v:null}, 5000)
  call s:Check('models/list answers', type(got.models) == v:t_list
        \ && index(map(copy(got.models), 'v:val.id'), 'amazon.nova-lite-v1:0') >= 0, string(got.models))

  let got = {'done': 0}
  call contenox#config_set('default-model', 'amazon.nova-lite-v1:0', {e, r -> extend(got, {'done': 1, 'e': e, 'r': r})})
  call s:Wait({-> got.done}, 5000)
  call s:Check('config/set answers', got.done && got.e is v:null && got.r.value ==# 'amazon.nova-lite-v1:0',
        \ string(got))
  let got = {'done': 0}
  call contenox#config_set('no-such-key', 'x', {e, r -> extend(got, {'done': 1, 'e': e})})
  call s:Wait({-> got.done}, 5000)
  call s:Check('a config/set error reaches the callback', got.done && got.e isnot v:null
        \ && stridx(got.e.message, 'default-model') >= 0, string(got))
  let got = {'done': 0}
  call contenox#backend_add('vim-backend', 'us-west-2', '', {e, r -> extend(got, {'done': 1, 'e': e, 'r': r})})
  call s:Wait({-> got.done}, 5000)
  call s:Check('backend/add answers', got.done && got.e is v:null && got.r.backend.name ==# 'vim-backend', string(got))

  " The server dies while a chat streams: the chat ends, and the next prompt starts a new server.
  let dying = contenox#new()
  call contenox#chat('dying @@tokens=400 @@delay-ms=20', dying)
  call s:Wait({-> stridx(s:Text(dying), ' tok tok') >= 0}, 10000)
  let old = contenox#job()
  call job_stop(old, 'kill')
  call s:Wait({-> contenox#idle(dying)}, 5000)
  call s:Check('a chat ends when the server dies', stridx(s:Text(dying), '[the server exited') >= 0, s:Text(dying))
  let again = contenox#new()
  call contenox#chat('after restart', again)
  call s:Wait({-> contenox#idle(again)}, 15000)
  call s:Check('the next prompt restarts the server', stridx(s:Text(again), 'Echo: after restart') >= 0
        \ && contenox#job() isnot v:null && contenox#job() != old, s:Text(again))
  call s:Check("the server's stderr is in the log buffer", len(getbufline(contenox#log_buffer(), 1, '$')) > 2,
        \ string(getbufline(contenox#log_buffer(), 1, '$')))
endfunction

try
  call s:Run()
catch
  call s:Check('no Vim error', 0, v:exception . ' at ' . v:throwpoint)
endtry
call contenox#stop()
call writefile(s:verdict, $CONTENOX_TEST_VERDICT)
qa!
