" contenox.vim: chat with Amazon Bedrock models through `contenox serve`.
" The server is started lazily with job_start() and a channel in 'lsp' mode (Vim does the
" Content-Length framing), once per Vim, and restarted on the next use if it died.

let s:job = v:null
let s:generation = 0    " counts server starts, so a dead server's callbacks leave its successor alone
let s:chats = {}        " request id -> {'buf': chat buffer number, 'generation': server it streams from}
let s:log_buf = -1

function! s:Option(name, default) abort
  return get(g:, 'contenox_' . a:name, a:default)
endfunction

function! s:Log(text) abort
  if s:log_buf < 0 || !bufexists(s:log_buf)
    let s:log_buf = bufadd('contenox://log')
    call setbufvar(s:log_buf, '&buftype', 'nofile')
    call bufload(s:log_buf)
  endif
  call appendbufline(s:log_buf, '$', split(a:text, "\n"))
endfunction

" The buffer holding the server's stderr.
function! contenox#log_buffer() abort
  call s:Log('')
  return s:log_buf
endfunction

function! s:OnError(channel, text) abort
  call s:Log(a:text)
endfunction

function! s:OnExit(generation, job, status) abort
  call s:Log('contenox serve exited with status ' . a:status)
  if a:generation == s:generation
    let s:job = v:null
  endif
endfunction

" The channel closed: every callback of that server has run, so its chats still open never finish.
function! s:OnClose(generation, channel) abort
  for [id, chat] in items(s:chats)
    if chat.generation == a:generation
      call remove(s:chats, id)
      call s:Finish(chat.buf, "\n[the server exited; the next prompt restarts it]")
    endif
  endfor
endfunction

function! s:Channel() abort
  if s:job isnot v:null && job_status(s:job) ==# 'run'
    return job_getchannel(s:job)
  endif
  let s:generation += 1
  let s:job = job_start(s:Option('command', ['contenox', 'serve']), {
        \ 'in_mode': 'lsp', 'out_mode': 'lsp', 'noblock': 1,
        \ 'out_cb': function('s:OnNotification'), 'err_mode': 'nl', 'err_cb': function('s:OnError'),
        \ 'close_cb': function('s:OnClose', [s:generation]), 'exit_cb': function('s:OnExit', [s:generation])})
  if job_status(s:job) !=# 'run'
    let s:job = v:null
    throw 'contenox: cannot start ' . string(s:Option('command', ['contenox', 'serve']))
  endif
  let channel = job_getchannel(s:job)
  let client = {'name': 'contenox.vim', 'version': '0.1.0'}
  call ch_sendexpr(channel, {'method': 'initialize', 'params': {'clientInfo': client}},
        \ {'callback': {ch, reply -> ch_sendexpr(ch, {'method': 'initialized'})}})
  return channel
endfunction

" Sends a request; Callback(error, result) gets one of them (the other is v:null). Returns the id.
function! contenox#request(method, params, Callback) abort
  let message = {'method': a:method}
  if a:params isnot v:null
    let message.params = a:params
  endif
  let sent = ch_sendexpr(s:Channel(), message,
        \ {'callback': {ch, reply -> a:Callback(get(reply, 'error', v:null), get(reply, 'result', v:null))}})
  return type(sent) == v:t_dict ? get(sent, 'id', -1) : -1
endfunction

function! contenox#notify(method, params) abort
  call ch_sendexpr(s:Channel(), {'method': a:method, 'params': a:params})
endfunction

" Appends text to the end of a buffer, continuing its last line.
function! s:Append(buf, text) abort
  if !bufexists(a:buf)
    return
  endif
  let pieces = split(a:text, "\n", 1)
  let last = getbufline(a:buf, '$')[0]
  call setbufline(a:buf, '$', last . pieces[0])
  if len(pieces) > 1
    call appendbufline(a:buf, '$', pieces[1:])
  endif
endfunction

function! s:OnNotification(channel, message) abort
  let params = get(a:message, 'params', {})
  if type(params) != v:t_dict || !has_key(s:chats, string(get(params, 'requestId', '')))
    return
  endif
  let buf = s:chats[string(params.requestId)].buf
  if a:message.method ==# 'chat/delta'
    let delta = get(params, 'delta', {})
    if has_key(delta, 'text')
      call s:Append(buf, delta.text)
    elseif type(get(delta, 'reasoningContent', v:null)) == v:t_dict && has_key(delta.reasoningContent, 'text')
      call s:Append(buf, delta.reasoningContent.text)
    endif
  elseif a:message.method ==# 'chat/blockStart' && has_key(get(params, 'start', {}), 'toolUse')
    call s:Append(buf, "\n[tool use: " . params.start.toolUse.name . '] ')
  endif
endfunction

function! s:Finish(buf, text) abort
  call setbufvar(a:buf, 'contenox_request', v:null)
  call s:Append(a:buf, a:text)
endfunction

function! s:OnChatDone(buf, id, error, result) abort
  if !has_key(s:chats, string(a:id))
    return
  endif
  call remove(s:chats, string(a:id))
  if a:error isnot v:null
    if a:error.code == -32800
      call s:Finish(a:buf, "\n[cancelled]")
      return
    endif
    let data = type(get(a:error, 'data', v:null)) == v:t_dict ? a:error.data : {}
    let hint = get(data, 'hint', v:null)
    call s:Finish(a:buf, "\n**Error** (" . get(data, 'type', a:error.code) . '): ' . a:error.message
          \ . (hint is v:null ? '' : "\nHint: " . hint))
    return
  endif
  call setbufvar(a:buf, 'contenox_session', a:result.sessionId)
  call s:Finish(a:buf, "\n")
endfunction

" Opens a new chat buffer (a new session) and returns its number.
function! contenox#new() abort
  let s:count = get(s:, 'count', 0) + 1
  let buf = bufadd('contenox://chat/' . s:count)
  call bufload(buf)
  call setbufvar(buf, '&buftype', 'nofile')
  call setbufvar(buf, '&filetype', 'markdown')
  call setbufvar(buf, 'contenox_chat', 1)
  call setbufline(buf, 1, '# contenox chat')
  return buf
endfunction

" True when no chat is streaming into the buffer.
function! contenox#idle(buf) abort
  return getbufvar(a:buf, 'contenox_request', v:null) is v:null
endfunction

" Sends a prompt (with optional context text) in the chat of buffer a:1 (default: the current chat
" buffer, else a new one); the answer streams in. Returns the request id.
function! contenox#chat(prompt, ...) abort
  let buf = a:0 > 0 && a:1 > 0 ? a:1 : (getbufvar('%', 'contenox_chat', 0) ? bufnr('%') : contenox#new())
  let context = a:0 > 1 ? a:2 : ''
  if !contenox#idle(buf)
    echoerr 'contenox: a chat is already streaming in this buffer; :ContenoxCancel stops it'
    return -1
  endif
  let text = context ==# '' ? a:prompt : a:prompt . "\n\n```\n" . context . "\n```"
  call s:Append(buf, "\n\n## You\n" . text . "\n\n## Assistant\n")
  let params = {'prompt': text}
  let session = getbufvar(buf, 'contenox_session', v:null)
  if session isnot v:null
    let params.sessionId = session
  endif
  let model = getbufvar(buf, 'contenox_model', s:Option('model', v:null))
  if model isnot v:null
    let params.model = model
  endif
  let id = -1
  let state = {'buf': buf}
  let id = contenox#request('chat/stream', params, {error, result -> s:OnChatDone(state.buf, state.id, error, result)})
  let state.id = id
  let s:chats[string(id)] = {'buf': buf, 'generation': s:generation}
  call setbufvar(buf, 'contenox_request', id)
  return id
endfunction

" Cancels the chat streaming into the buffer (default: the current one).
function! contenox#cancel(...) abort
  let buf = a:0 > 0 ? a:1 : bufnr('%')
  let id = getbufvar(buf, 'contenox_request', v:null)
  if id isnot v:null
    call contenox#notify('$/cancelRequest', {'id': id})
  endif
endfunction

" Calls Callback(models) with the list from models/list.
function! contenox#models(Callback) abort
  return contenox#request('models/list', v:null, function('s:Report', [{error, result ->
        \ error is v:null ? a:Callback(result.models) : 0}]))
endfunction

" Lets the user pick the default model (config/set default-model) from models/list; with a:1 true,
" sets the model of the current chat buffer only (b:contenox_model).
function! contenox#select_model(...) abort
  let buf = a:0 > 0 && a:1 ? bufnr('%') : -1
  call contenox#models(function('s:PickModel', [buf]))
endfunction

function! s:PickModel(buf, models) abort
  let ids = map(copy(a:models), 'v:val.id')
  let choice = inputlist(['Model:'] + map(copy(ids), '(v:key + 1) . ". " . v:val'))
  if choice <= 0 || choice > len(ids)
    return
  endif
  if a:buf > 0
    call setbufvar(a:buf, 'contenox_model', ids[choice - 1])
  else
    call contenox#config_set('default-model', ids[choice - 1])
  endif
endfunction

" Shows a failed request's message with its hint, then passes the answer on to Callback.
function! s:Report(Callback, error, result) abort
  if a:error isnot v:null
    let hint = type(get(a:error, 'data', v:null)) == v:t_dict ? get(a:error.data, 'hint', '') : ''
    echohl ErrorMsg | echomsg 'contenox: ' . a:error.message . (hint ==# '' ? '' : ' (' . hint . ')') | echohl None
    call s:Log('error: ' . a:error.message . (hint ==# '' ? '' : "\nhint: " . hint))
  endif
  if a:Callback isnot v:null
    call a:Callback(a:error, a:result)
  endif
endfunction

" Sets a server configuration key (default-model, default-provider); Callback(error, result) is optional.
function! contenox#config_set(key, value, ...) abort
  return contenox#request('config/set', {'key': a:key, 'value': a:value},
        \ function('s:Report', [a:0 > 0 ? a:1 : v:null]))
endfunction

" Adds a Bedrock backend: url is an endpoint or a bare region; then optional region and Callback.
function! contenox#backend_add(name, url, ...) abort
  let params = {'name': a:name, 'type': 'bedrock', 'url': a:url}
  if a:0 > 0 && a:1 isnot v:null && a:1 !=# ''
    let params.region = a:1
  endif
  return contenox#request('backend/add', params, function('s:Report', [a:0 > 1 ? a:2 : v:null]))
endfunction

" The server's job, or v:null when it is not running.
function! contenox#job() abort
  return s:job
endfunction

" Stops the server; the next request starts a new one.
function! contenox#stop() abort
  if s:job isnot v:null
    call job_stop(s:job)
    let s:job = v:null
  endif
endfunction

" Shows a buffer in a window, splitting when it is not visible yet.
function! contenox#show(buf) abort
  let win = bufwinnr(a:buf)
  if win > 0
    execute win . 'wincmd w'
  else
    execute 'sbuffer' a:buf
  endif
endfunction

" :ContenoxChat: the prompt, with the range's lines (if any) as context, in the current chat buffer
" or a new one, which is then shown.
function! contenox#command_chat(prompt, range, line1, line2) abort
  let context = a:range > 0 ? join(getline(a:line1, a:line2), "\n") : ''
  let buf = getbufvar('%', 'contenox_chat', 0) ? bufnr('%') : contenox#new()
  let id = contenox#chat(a:prompt, buf, context)
  call contenox#show(buf)
  return id
endfunction
