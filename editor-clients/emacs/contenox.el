;;; contenox.el --- Chat with Amazon Bedrock models through contenox -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: tools, convenience
;; URL: https://example.invalid/contenox

;;; Commentary:

;; Talks to `contenox serve' over JSON-RPC (the built-in jsonrpc.el) and
;; streams answers from Amazon Bedrock into a chat buffer as they arrive.
;;
;; M-x contenox-chat asks for a prompt (with the active region as context),
;; M-x contenox-cancel (or C-g in a chat buffer) stops a streaming answer,
;; M-x contenox-select-model picks the default model, and
;; M-x contenox-backend-add and M-x contenox-config-set configure the server.

;;; Code:

(require 'cl-lib)
(require 'jsonrpc)
(require 'subr-x)

(defgroup contenox nil
  "Chat with Amazon Bedrock models through contenox."
  :group 'tools
  :prefix "contenox-")

(defcustom contenox-program "contenox"
  "The contenox executable."
  :type 'string)

(defcustom contenox-program-args '("serve")
  "Arguments that start the JSON-RPC server."
  :type '(repeat string))

(defcustom contenox-default-model nil
  "Model id for new chats, or nil for the server's default-model."
  :type '(choice (const :tag "Server default" nil) string))

(defvar contenox--connection nil
  "The running JSON-RPC connection to contenox serve, if any.")

(defvar contenox--chats (make-hash-table :test #'eql)
  "Chat buffers by the id of the chat/stream request streaming into them.")

(defvar-local contenox--session-id nil
  "The session id of this chat buffer, set from the first answer.")

(defvar-local contenox--request-id nil
  "The id of the chat/stream request streaming into this buffer, or nil.")

(defvar-local contenox-model nil
  "Model id for this chat buffer, or nil for `contenox-default-model'.
\\[universal-argument] \\[contenox-select-model] sets it.")

(defvar contenox-chat-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-g") #'contenox-cancel-or-quit)
    (define-key map (kbd "C-c C-c") #'contenox-chat)
    (define-key map (kbd "C-c C-k") #'contenox-cancel)
    map)
  "Keymap for `contenox-chat-mode'.")

(define-derived-mode contenox-chat-mode text-mode "contenox"
  "Major mode of contenox chat buffers; answers stream in at the end.")

(defun contenox--log-buffer ()
  "Return the buffer for the server's stderr."
  (get-buffer-create "*contenox-log*"))

(defun contenox--connection ()
  "Return a running connection, starting the server when there is none."
  (unless (and contenox--connection (jsonrpc-running-p contenox--connection))
    (let* ((process (make-process
                     :name "contenox"
                     :command (cons contenox-program contenox-program-args)
                     :connection-type 'pipe
                     :coding 'utf-8-emacs-unix
                     :noquery t
                     :stderr (contenox--log-buffer))))
      (setq contenox--connection
            (make-instance 'jsonrpc-process-connection
                           :name "contenox"
                           :process process
                           :events-buffer-scrollback-size 0
                           :notification-dispatcher #'contenox--on-notification
                           :on-shutdown #'contenox--on-shutdown))
      (jsonrpc-request contenox--connection 'initialize
                       '(:clientInfo (:name "contenox.el" :version "0.1.0")))
      (jsonrpc-notify contenox--connection 'initialized nil)))
  contenox--connection)

(defun contenox--on-shutdown (connection)
  "Forget CONNECTION, the server that exited, unless a new one replaced it.
jsonrpc.el has already failed its pending requests, which ends their chats."
  (when (eq connection contenox--connection)
    (setq contenox--connection nil)))

(defun contenox--append (buffer text)
  "Insert TEXT at the end of BUFFER."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (save-excursion
        (goto-char (point-max))
        (insert text)))))

(defun contenox--finish (buffer text)
  "Mark BUFFER idle and append TEXT to it."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer (setq contenox--request-id nil))
    (contenox--append buffer text)))

(defun contenox--on-notification (_connection method params)
  "Handle notification METHOD with PARAMS (a plist) from the server."
  (let ((buffer (gethash (plist-get params :requestId) contenox--chats)))
    (when buffer
      (pcase method
        ('chat/delta
         (let* ((delta (plist-get params :delta))
                (text (or (plist-get delta :text)
                          (plist-get (plist-get delta :reasoningContent) :text))))
           (when (stringp text) (contenox--append buffer text))))
        ('chat/blockStart
         (let ((tool (plist-get (plist-get params :start) :toolUse)))
           (when tool
             (contenox--append buffer (format "\n[tool use: %s] " (plist-get tool :name))))))))))

(defun contenox--error-text (error)
  "Describe ERROR, a JSON-RPC error plist, with its hint."
  (let* ((data (plist-get error :data))
         (hint (and (listp data) (plist-get data :hint))))
    (format "**Error** (%s): %s%s"
            (or (and (listp data) (plist-get data :type)) (plist-get error :code))
            (plist-get error :message)
            (if (stringp hint) (concat "\nHint: " hint) ""))))

(defun contenox-new ()
  "Open a new chat buffer for a new session, and return it."
  (interactive)
  (let ((buffer (generate-new-buffer "*contenox chat*")))
    (with-current-buffer buffer
      (contenox-chat-mode)
      (insert "# contenox chat\n"))
    (when (called-interactively-p 'any) (pop-to-buffer buffer))
    buffer))

(defun contenox-idle-p (buffer)
  "Return non-nil when no answer is streaming into BUFFER."
  (null (buffer-local-value 'contenox--request-id buffer)))

(defun contenox-chat (prompt &optional context buffer)
  "Send PROMPT, with CONTEXT text, and stream the answer into BUFFER.
Interactively CONTEXT is the active region and BUFFER the current chat
buffer, or a new one.  A chat buffer keeps its session, so follow-ups
continue it.  Return the request id."
  (interactive
   (list (read-string "Prompt: ")
         (when (use-region-p) (buffer-substring-no-properties (region-beginning) (region-end)))))
  (let* ((buffer (or buffer
                     (and (derived-mode-p 'contenox-chat-mode) (current-buffer))
                     (contenox-new)))
         (text (if (and context (not (string-empty-p context)))
                   (format "%s\n\n```\n%s\n```" prompt context)
                 prompt))
         (params (list :prompt text)))
    (unless (contenox-idle-p buffer)
      (user-error "An answer is already streaming in this buffer; C-g stops it"))
    (with-current-buffer buffer
      (when contenox--session-id (setq params (plist-put params :sessionId contenox--session-id))))
    (let ((model (or (buffer-local-value 'contenox-model buffer) contenox-default-model)))
      (when model (setq params (plist-put params :model model))))
    (contenox--append buffer (format "\n## You\n%s\n\n## Assistant\n" text))
    (when (called-interactively-p 'any) (pop-to-buffer buffer))
    (let ((id nil))
      (setq id (car (jsonrpc--async-request-1
                     (contenox--connection) 'chat/stream params
                     :timeout nil
                     :success-fn (lambda (result)
                                   (remhash id contenox--chats)
                                   (when (buffer-live-p buffer)
                                     (with-current-buffer buffer
                                       (setq contenox--session-id (plist-get result :sessionId))))
                                   (contenox--finish buffer "\n"))
                     :error-fn (lambda (error)
                                 (remhash id contenox--chats)
                                 (contenox--finish buffer
                                                   (pcase (plist-get error :code)
                                                     (-32800 "\n[cancelled]")
                                                     ;; jsonrpc.el's answer when the process dies
                                                     (-1 "\n[the server exited; the next prompt restarts it]")
                                                     (_ (concat "\n" (contenox--error-text error)))))))))
      (puthash id buffer contenox--chats)
      (with-current-buffer buffer (setq contenox--request-id id))
      id)))

(defun contenox-cancel (&optional buffer)
  "Cancel the answer streaming into BUFFER (default: the current buffer)."
  (interactive)
  (let ((id (buffer-local-value 'contenox--request-id (or buffer (current-buffer)))))
    (when (and id contenox--connection)
      (jsonrpc-notify contenox--connection '$/cancelRequest (list :id id)))))

(defun contenox-cancel-or-quit ()
  "Cancel the streaming answer in this buffer, or quit as \\[keyboard-quit] does."
  (interactive)
  (if contenox--request-id (contenox-cancel) (keyboard-quit)))

(defun contenox-models ()
  "Return the models the server lists, as plists."
  (append (plist-get (contenox-request 'models/list nil) :models) nil))

(defun contenox-select-model (&optional this-buffer)
  "Pick the default model (config/set default-model) from the server's list.
With THIS-BUFFER (interactively, a prefix argument) set only the model of
the current chat buffer."
  (interactive "P")
  (let* ((ids (mapcar (lambda (model) (plist-get model :id)) (contenox-models)))
         (choice (completing-read "Model: " ids nil t)))
    (if this-buffer
        (setq contenox-model choice)
      (contenox-config-set "default-model" choice))))

(defun contenox-request (method params)
  "Send request METHOD (a symbol such as `session/get') with PARAMS (a plist).
Wait for the answer and return its result; an error signals a
`user-error' that carries the server's message and hint."
  (condition-case err
      (jsonrpc-request (contenox--connection) method params)
    (jsonrpc-error
     (let ((data (alist-get 'jsonrpc-error-data (cdr err))))
       (user-error "Contenox: %s%s" (alist-get 'jsonrpc-error-message (cdr err))
                   (if (and (listp data) (plist-get data :hint))
                       (concat " (" (plist-get data :hint) ")")
                     ""))))))

(defun contenox-config-set (key value)
  "Set the server configuration KEY (default-model, default-provider) to VALUE."
  (interactive (list (completing-read "Key: " '("default-model" "default-provider") nil t)
                     (read-string "Value: ")))
  (contenox-request 'config/set (list :key key :value value)))

(defun contenox-backend-add (name url &optional region)
  "Add a Bedrock backend NAME at URL (an endpoint or a bare region) in REGION."
  (interactive (list (read-string "Backend name: " "bedrock")
                     (read-string "URL or region: " "us-east-1")
                     (let ((region (read-string "Region (empty: from the URL): ")))
                       (unless (string-empty-p region) region))))
  (contenox-request
   'backend/add (append (list :name name :type "bedrock" :url url)
                        (when region (list :region region)))))

(defun contenox-stop ()
  "Stop the contenox server."
  (interactive)
  (when contenox--connection
    (jsonrpc-shutdown contenox--connection t)
    (setq contenox--connection nil)))

(provide 'contenox)
;;; contenox.el ends here
