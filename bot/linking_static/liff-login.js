/* The login page opened as a LIFF app: ask the LIFF SDK for the LINE user's ID token and hand
 * it to the server, which has LINE verify it (never trusting a user ID sent by the browser).
 * Texts come from the page's data attributes; no inline script (the page's CSP forbids it). */
"use strict";
(function () {
  const root = document.getElementById("liff-login");
  const form = document.getElementById("identify");
  const status = document.getElementById("status");
  const fail = (text) => { status.textContent = text; status.classList.add("error"); };
  if (!root || !form) return;
  if (!window.liff) { fail(root.dataset.failed); return; }
  window.liff.init({ liffId: root.dataset.liffId }).then(() => {
    if (!window.liff.isLoggedIn()) {
      window.liff.login({ redirectUri: window.location.href });
      return;
    }
    const token = window.liff.getIDToken();
    if (!token) { fail(root.dataset.failed); return; }
    form.elements.id_token.value = token;
    form.submit();
  }).catch(() => fail(root.dataset.failed));
})();
