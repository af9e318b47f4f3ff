/* The customer-service chat widget of the shop and tracking pages (no inline script: CSP).
   Starts an anonymous chat (POST /api/v1/support/chats), keeps its token in localStorage,
   posts messages and receives replies by server-sent events (EventSource reconnects by itself
   and resumes after Last-Event-ID). An order number on the page (data-order-number on the
   script tag) is sent with the first message, so the chat is linked to that order. A signed-in
   customer's page names data-start (with data-csrf and data-customer): their first message
   starts the chat there, linked to their profile, and its token is kept under their own key. */
(function () {
  "use strict";
  var API = "/api/v1/support/chats";
  var script = document.currentScript;
  var orderNumber = script ? script.getAttribute("data-order-number") : null;
  var startUrl = script ? script.getAttribute("data-start") : null;
  var csrf = script ? script.getAttribute("data-csrf") : null;
  var customer = script ? script.getAttribute("data-customer") : null;
  var KEY = "omniretail.support.chat" + (startUrl && customer ? "." + customer : "");
  var token = null;
  try { token = window.localStorage.getItem(KEY); } catch (e) { token = null; }
  var seen = {};
  var source = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  var root = el("aside", "support-chat");
  root.setAttribute("aria-label", "Chat with us");
  var toggle = el("button", "support-chat-toggle", "Chat with us");
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", "false");
  var panel = el("section", "support-chat-panel");
  panel.hidden = true;
  var log = el("ol", "support-chat-log");
  log.setAttribute("aria-live", "polite");
  var form = el("form", "support-chat-form");
  var email = el("input", "support-chat-email");
  email.type = "email";
  email.placeholder = "Your email (optional)";
  email.autocomplete = "email";
  email.maxLength = 200;
  email.setAttribute("aria-label", "Your email (optional)");
  email.hidden = !!startUrl;
  var input = el("textarea", "support-chat-input");
  input.placeholder = "Write a message";
  input.rows = 2;
  input.maxLength = 5000;
  input.setAttribute("aria-label", "Your message");
  input.required = true;
  var send = el("button", "support-chat-send", "Send");
  send.type = "submit";
  var status = el("p", "support-chat-status");
  form.appendChild(email);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(toggle);
  root.appendChild(panel);

  // The answer's links (a tracking page, the account, a web address) as links, the rest as text.
  var LINK = /(https?:\/\/[^\s]*[^\s.,;:!?)]|\/(?:track|account|shop)(?:\/[^\s]*[^\s.,;:!?)])?)/g;
  function linked(text) {
    var p = el("p");
    var last = 0;
    text.replace(LINK, function (url, _group, at) {
      p.appendChild(document.createTextNode(text.slice(last, at)));
      var a = el("a", null, url);
      a.href = url;
      p.appendChild(a);
      last = at + url.length;
      return url;
    });
    p.appendChild(document.createTextNode(text.slice(last)));
    return p;
  }

  function show(message) {
    if (seen[message.id]) { return; }
    seen[message.id] = true;
    var item = el("li", "support-chat-" + (message.direction === "in" ? "mine" : "theirs"));
    item.appendChild(el("span", "support-chat-author", message.author));
    item.appendChild(linked(message.body));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function listen() {
    if (!token || source || !window.EventSource) { return; }
    var last = Object.keys(seen).reduce(function (a, b) { return Math.max(a, +b); }, 0);
    source = new EventSource(API + "/" + encodeURIComponent(token) + "/events?after=" + last);
    source.addEventListener("message", function (event) { show(JSON.parse(event.data)); });
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "omit",
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (response.status === 404) { forget(); throw new Error("gone"); }
      if (response.status === 422 && body && body.email) {
        throw new Error("Please check your email: one address, like name@example.com.");
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  function forget() {
    token = null;
    try { window.localStorage.removeItem(KEY); } catch (e) { /* private mode */ }
    if (source) { source.close(); source = null; }
    email.hidden = !!startUrl;
  }

  function load() {
    if (!token) { return; }
    email.hidden = true;
    request("GET", API + "/" + encodeURIComponent(token) + "/messages").then(function (chat) {
      chat.messages.forEach(show);
      listen();
    }).catch(function () { /* a new chat starts with the next message */ });
  }

  function keep(chat) {
    token = chat.token;
    try { window.localStorage.setItem(KEY, token); } catch (e) { /* private mode */ }
    email.hidden = true;
    return chat;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    send.disabled = true;
    status.textContent = "";
    var done;
    if (token) {
      done = request("POST", API + "/" + encodeURIComponent(token) + "/messages", { message: text });
    } else if (startUrl) {
      var fields = new URLSearchParams({ message: text, page: window.location.pathname });
      if (orderNumber) { fields.set("order_number", orderNumber); }
      done = fetch(startUrl, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf || "", "Accept": "application/json" },
        credentials: "same-origin",
        body: fields
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(keep);
    } else {
      var body = { message: text, page: window.location.pathname };
      if (email.value.trim()) { body.email = email.value.trim(); }
      if (orderNumber) { body.order_number = orderNumber; }
      done = request("POST", API, body).then(keep);
    }
    done.then(function (chat) {
      input.value = "";
      chat.messages.forEach(show);
      listen();
    }).catch(function (error) {
      status.textContent = /^Please check/.test(error.message) ? error.message
        : "Sorry, the message was not sent. Please try again.";
    }).then(function () { send.disabled = false; });
  });

  toggle.addEventListener("click", function () {
    var open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { load(); input.focus(); }
  });

  document.body.appendChild(root);
})();
