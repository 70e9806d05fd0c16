" Headless Vim test: the real server and the stand-in (run.sh sets them up).
let s:verdict = []
function! s:Check(name, ok, detail) abort
  call add(s:verdict, (a:ok ? 'PASS' : 'FAIL') . ' vim: ' . a:name . (a:ok ? '' : ' -- ' . a:detail))
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
  call contenox#chat('hello from vim', buf)
  call s:Wait({-> contenox#idle(buf)}, 15000)
  call s:Check('a prompt streams into the buffer', stridx(s:Text(buf), 'Echo: hello from vim') >= 0, s:Text(buf))
  let session = getbufvar(buf, 'contenox_session', v:null)
  call contenox#chat('second turn', buf)
  call s:Wait({-> contenox#idle(buf)}, 15000)
  call s:Check('a follow-up continues the session', stridx(s:Text(buf), 'Echo: second turn') >= 0
        \ && session isnot v:null && getbufvar(buf, 'contenox_session') ==# session, s:Text(buf))

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
  call s:Check('models/list answers', type(got.models) == v:t_list && len(got.models) > 0, string(got.models))
endfunction

try
  call s:Run()
catch
  call s:Check('no Vim error', 0, v:exception . ' at ' . v:throwpoint)
endtry
call contenox#stop()
call writefile(s:verdict, $CONTENOX_TEST_VERDICT)
qa!
