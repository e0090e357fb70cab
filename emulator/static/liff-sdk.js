/* The LINE emulator's stand-in for LINE's LIFF SDK (https://static.line-scdn.net/liff/edge/2/sdk.js).
 *
 * The emulator opens a LIFF app's endpoint URL with the ID token of the LINE user who tapped
 * the LIFF URL in the URL fragment (`#liff.id_token=…`). `liff.init()` keeps it for this tab
 * (sessionStorage, per LIFF ID), removes it from the address bar and, as LINE's SDK does,
 * redirects to the additional path and query carried in `liff.state` (secondary redirect).
 * Only what a login page needs is here. */
"use strict";
(function () {
  const PREFIX = "emulator-liff-id-token:";
  let liffId = null;
  let idToken = null;

  function liffError(code, message) {
    const error = new Error(message);
    error.code = code;
    return error;
  }

  function init(config) {
    if (!config || typeof config.liffId !== "string" || !config.liffId) {
      return Promise.reject(liffError("INVALID_CONFIG", "liffId is necessary for liff.init()"));
    }
    liffId = config.liffId;
    const url = new URL(window.location.href);
    const fragment = new URLSearchParams(url.hash.slice(1));
    const fresh = fragment.get("liff.id_token");
    if (fresh) sessionStorage.setItem(PREFIX + liffId, fresh);
    idToken = sessionStorage.getItem(PREFIX + liffId);
    url.hash = "";
    const target = url.searchParams.get("liff.state");
    if (target) {
      url.searchParams.delete("liff.state");
      const extra = new URL(target, "http://liff.invalid");
      const path = url.pathname.replace(/\/$/, "") + (extra.pathname === "/" ? "" : extra.pathname);
      extra.searchParams.forEach((value, key) => url.searchParams.append(key, value));
      window.location.replace(url.origin + path + url.search);
      return new Promise(() => {}); // the page is being replaced
    }
    window.history.replaceState(null, "", url.toString());
    return Promise.resolve();
  }

  window.liff = {
    init,
    ready: Promise.resolve(),
    isLoggedIn: () => Boolean(idToken),
    isInClient: () => true,
    getOS: () => "web",
    getIDToken: () => idToken,
    getContext: () => (liffId ? { type: "utou", liffId } : null),
    login: () => {
      throw liffError("FORBIDDEN", "(emulator) open the LIFF URL from the chat page to log in");
    },
    logout: () => { if (liffId) sessionStorage.removeItem(PREFIX + liffId); idToken = null; },
    closeWindow: () => window.close(),
  };
})();
