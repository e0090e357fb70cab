/* Chat page of the local LINE emulator (vanilla JS, no build step).
 * Polls /_emulator/users/<id>/timeline once a second and draws what the bot sent: text,
 * quick replies, templates and Flex messages. Data is only ever put in the DOM as text. */
"use strict";

const $ = (id) => document.getElementById(id);
const chat = $("chat");
const quickBar = $("quick-replies");
const statusBar = $("status");
const userSelect = $("user-select");

// `view` counts redraws of the conversation: a poll sent before one is thrown away.
const state = { userId: null, lastSeq: 0, lastBotEntry: null, polling: false, view: 0 };

const SIZES = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35,
  "4xl": 48, "5xl": 74 };
const SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
const BUBBLE_WIDTH = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300,
  giga: 500 };
const ACCOUNT_LINK_PREFIX = "https://access.line.me/dialog/bot/accountLink";
const LIFF_PREFIX = "https://liff.line.me/";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.message || response.statusText);
  return data;
}

function setStatus(text) { statusBar.textContent = text; }

function px(value, table) {
  if (value === undefined || value === null) return null;
  if (typeof value === "number") return value + "px";
  if (table && value in table) return table[value] + "px";
  return value; // "12px", "50%"
}

// Times as the bot's texts give them: in JST, whatever the browser's time zone ("9:05").
const JST_TIME = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Tokyo", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23" });

function timeLabel(at) {
  const parts = {};
  for (const part of JST_TIME.formatToParts(new Date(at * 1000))) parts[part.type] = part.value;
  return Number(parts.hour) + ":" + parts.minute;
}

/* ---- actions ------------------------------------------------------------------------ */

function safeUri(uri) {
  if (typeof uri !== "string") return null;
  if (uri.startsWith(ACCOUNT_LINK_PREFIX)) {
    // LINE's account-link dialog is served by the emulator itself.
    const url = new URL(uri);
    url.searchParams.set("user", state.userId);
    return "/dialog/bot/accountLink" + url.search;
  }
  if (uri.startsWith(LIFF_PREFIX)) {
    // A LIFF app opens in the LIFF browser, logged in as this chat's user.
    return "/_emulator/liff/open?" + new URLSearchParams({ user: state.userId, uri });
  }
  if (/^https?:/.test(uri)) {
    const url = new URL(uri);
    if (url.pathname === "/dialog/bot/accountLink" && url.origin === window.location.origin) {
      url.searchParams.set("user", state.userId);  // the browser's LINE login
      return url.toString();
    }
  }
  return /^(https?:|tel:|mailto:|\/)/.test(uri) ? uri : null;
}

async function runAction(action) {
  if (!action || !state.userId) return;
  try {
    if (action.type === "message") {
      await sendText(action.text);
    } else if (action.type === "postback") {
      await sendPostback(action.data, null, action.displayText || action.text);
    } else if (action.type === "datetimepicker") {
      const mode = action.mode || "datetime";
      const example = { date: "2025-04-01", time: "10:00", datetime: "2025-04-01T10:00" }[mode];
      // LINE's picker offers only values between min and max (same-format strings compare).
      const range = action.min || action.max
        ? ", " + (action.min || "") + " 〜 " + (action.max || "") : "";
      const value = window.prompt("日時を選択 (" + mode + range + ", 例: " + example + ")",
        action.initial || example);
      const outside = value && ((action.min && value < action.min) ||
        (action.max && value > action.max));
      if (outside) {
        setStatus("選べるのは " + (action.min || "") + " 〜 " + (action.max || "") + " です");
      }
      if (!value || outside) return;  // nothing is sent: the buttons stay, as in LINE
      quickBar.hidden = true;
      await sendPostback(action.data, { [mode]: value }, null);
    } else if (action.type === "uri") {
      const href = safeUri(action.uri);
      if (href) window.open(href, "_blank", "noopener");
    } else {
      setStatus("このエミュレーターでは「" + action.type + "」アクションは未対応です");
    }
  } catch (err) {
    notice("送信に失敗しました: " + err.message, true);
  }
}

/* A clickable element for an action: a link for uri actions, a button otherwise. A tap on
 * it runs its own action only, never that of the card around it (as in LINE). */
function actionElement(action, cls, label) {
  const text = label !== undefined ? label : (action && action.label) || "";
  if (action && action.type === "uri") {
    const href = safeUri(action.uri);
    const link = el("a", cls, text);
    if (href) { link.href = href; link.target = "_blank"; link.rel = "noopener"; }
    link.title = action.uri || "";
    link.addEventListener("click", (ev) => ev.stopPropagation());
    return link;
  }
  const button = el("button", cls, text);
  button.type = "button";
  button.addEventListener("click", (ev) => { ev.stopPropagation(); runAction(action); });
  return button;
}

function makeClickable(node, action) {
  if (!action) return;
  node.classList.add("clickable");
  node.title = action.label || action.uri || action.text || action.data || "";
  node.addEventListener("click", (ev) => { ev.stopPropagation(); runAction(action); });
}

/* ---- messages ----------------------------------------------------------------------- */

function imagePlaceholder(label, ratio) {
  const box = el("div", "img-ph");
  const [w, h] = String(ratio || "20:13").split(":").map(Number);
  box.style.aspectRatio = (w > 0 && h > 0) ? w + " / " + h : "20 / 13";
  box.appendChild(el("span", null, "🖼 " + (label || "画像")));
  return box;
}

function fileName(url) {
  if (typeof url !== "string") return "";
  return url.split("/").pop().split("?")[0];
}

function renderTemplateColumn(column, kind) {
  const card = el("div", "tpl " + kind);
  if (column.thumbnailImageUrl) card.appendChild(imagePlaceholder(fileName(column.thumbnailImageUrl)));
  if (column.title) card.appendChild(el("div", "tpl-title", column.title));
  if (column.text) card.appendChild(el("div", "tpl-text", column.text));
  const actions = el("div", "tpl-actions");
  for (const action of column.actions || []) actions.appendChild(actionElement(action, "act"));
  card.appendChild(actions);
  if (column.defaultAction) makeClickable(card, column.defaultAction);
  return card;
}

function renderTemplate(template) {
  if (template.type === "carousel" || template.type === "image_carousel") {
    const row = el("div", "carousel");
    for (const column of template.columns || []) {
      if (template.type === "image_carousel") {
        const card = el("div", "tpl");
        card.appendChild(imagePlaceholder(fileName(column.imageUrl), "1:1"));
        const actions = el("div", "tpl-actions");
        actions.appendChild(actionElement(column.action, "act"));
        card.appendChild(actions);
        row.appendChild(card);
      } else {
        row.appendChild(renderTemplateColumn(column, "buttons"));
      }
    }
    return row;
  }
  return renderTemplateColumn(template, template.type === "confirm" ? "confirm" : "buttons");
}

function applyBoxStyles(node, c) {
  const s = node.style;
  const pad = px(c.paddingAll, SPACING);
  if (pad) s.padding = pad;
  if (c.paddingTop) s.paddingTop = px(c.paddingTop, SPACING);
  if (c.paddingBottom) s.paddingBottom = px(c.paddingBottom, SPACING);
  if (c.paddingStart) s.paddingLeft = px(c.paddingStart, SPACING);
  if (c.paddingEnd) s.paddingRight = px(c.paddingEnd, SPACING);
  if (c.backgroundColor) s.backgroundColor = c.backgroundColor;
  if (c.borderColor) s.borderColor = c.borderColor;
  if (c.borderWidth) {
    const widths = { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 };
    s.borderStyle = "solid";
    s.borderWidth = px(c.borderWidth, widths);
  }
  if (c.cornerRadius) s.borderRadius = px(c.cornerRadius, SPACING);
  if (c.width) s.width = c.width;
  if (c.height) s.height = c.height;
  if (c.maxWidth) s.maxWidth = c.maxWidth;
  if (c.justifyContent) s.justifyContent = c.justifyContent;
  if (c.alignItems) s.alignItems = c.alignItems;
}

function applyChildLayout(node, c, parentLayout, first) {
  const flex = c.flex !== undefined ? c.flex : (parentLayout === "vertical" ? 0 : 1);
  if (c.type !== "separator" && c.type !== "spacer") {
    node.style.flex = flex === 0 ? "0 0 auto" : flex + " 1 0";
  }
  if (c.margin && !first) {
    const prop = parentLayout === "vertical" ? "marginTop" : "marginLeft";
    node.style[prop] = px(c.margin, SPACING);
  }
  if (c.offsetTop) node.style.marginTop = px(c.offsetTop, SPACING);
  if (c.align && c.type !== "text") node.style.alignSelf = c.align;
  if (c.gravity) {
    node.style.alignSelf = { top: "flex-start", center: "center", bottom: "flex-end" }[c.gravity];
  }
}

function renderFlexComponent(c, parentLayout) {
  let node;
  switch (c.type) {
    case "box": {
      const layout = c.layout || "vertical";
      node = el("div", "fx-box " + layout);
      applyBoxStyles(node, c);
      const gap = px(c.spacing, SPACING);
      if (gap) node.style.gap = gap;
      (c.contents || []).forEach((child, i) => {
        const childNode = renderFlexComponent(child, layout);
        applyChildLayout(childNode, child, layout, i === 0);
        node.appendChild(childNode);
      });
      break;
    }
    case "text": {
      node = el("div", "fx-text " + (c.wrap ? "wrap" : "nowrap"));
      if (Array.isArray(c.contents) && c.contents.length) {
        for (const span of c.contents) {
          const part = el("span", null, span.text || "");
          styleText(part, span);
          node.appendChild(part);
        }
      } else {
        node.textContent = c.text || "";
      }
      styleText(node, c);
      if (c.align) node.style.textAlign = { start: "left", end: "right", center: "center" }[c.align];
      if (c.maxLines) {
        node.style.display = "-webkit-box";
        node.style.webkitLineClamp = String(c.maxLines);
        node.style.webkitBoxOrient = "vertical";
        node.style.overflow = "hidden";
      }
      break;
    }
    case "separator":
      node = el("hr", "fx-sep");
      if (c.color) node.style.borderTopColor = c.color;
      if (parentLayout !== "vertical") {
        node.style.borderTop = "0";
        node.style.borderLeft = "1px solid " + (c.color || "#e0e0e0");
        node.style.width = "0";
        node.style.alignSelf = "stretch";
      }
      if (c.margin) node.style[parentLayout === "vertical" ? "marginTop" : "marginLeft"] =
        px(c.margin, SPACING);
      return node;
    case "button": {
      const style = c.style || "link";
      node = actionElement(c.action, "fx-button " + style + (c.height === "sm" ? " sm" : ""));
      if (c.color) {
        if (style === "link") node.style.color = c.color;
        else node.style.backgroundColor = c.color;
      }
      return node;
    }
    case "image": {
      node = imagePlaceholder(fileName(c.url), c.aspectRatio);
      const sizes = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160 };
      if (c.size === "full") node.style.width = "100%";
      else node.style.width = px(c.size || "md", sizes);
      if (!c.align) node.style.alignSelf = "center";
      break;
    }
    case "icon":
      node = el("span", "fx-icon");
      node.style.fontSize = px(c.size || "md", SIZES);
      return node;
    case "video":
      node = imagePlaceholder("動画 " + fileName(c.url), c.aspectRatio);
      break;
    case "spacer":
      node = el("div");
      node.style.flex = "0 0 " + (px(c.size || "md", SPACING) || "8px");
      return node;
    case "filler":
      node = el("div");
      break;
    case "span":
      node = el("span", null, c.text || "");
      styleText(node, c);
      return node;
    default:
      node = el("div", "placeholder-msg", "[" + c.type + "]");
  }
  if (c.action) makeClickable(node, c.action);
  return node;
}

function styleText(node, c) {
  const size = px(c.size, SIZES);
  if (size) node.style.fontSize = size;
  if (c.weight === "bold") node.style.fontWeight = "bold";
  if (c.color) node.style.color = c.color;
  if (c.style === "italic") node.style.fontStyle = "italic";
  if (c.decoration && c.decoration !== "none") node.style.textDecoration = c.decoration;
}

function renderBubble(bubble) {
  const card = el("div", "fx-bubble");
  const width = BUBBLE_WIDTH[bubble.size || "mega"];
  if (width) card.style.width = Math.min(width, 440) + "px";
  const styles = bubble.styles || {};
  for (const part of ["header", "hero", "body", "footer"]) {
    const content = bubble[part];
    if (!content) continue;
    const block = el("div", "fx-block fx-" + part);
    const blockStyle = styles[part] || {};
    if (blockStyle.backgroundColor) block.style.backgroundColor = blockStyle.backgroundColor;
    if (blockStyle.separator) block.style.borderTop = "1px solid " +
      (blockStyle.separatorColor || "#e0e0e0");
    if (content.type === "box" && content.paddingAll === undefined && part !== "hero") {
      block.style.padding = part === "footer" ? "10px" : "16px 20px";
    }
    const node = renderFlexComponent(content, "vertical");
    if (content.type === "image") node.style.width = "100%";
    block.appendChild(node);
    card.appendChild(block);
  }
  if (bubble.action) makeClickable(card, bubble.action);
  return card;
}

function renderFlex(contents) {
  if (contents.type === "carousel") {
    const row = el("div", "carousel");
    for (const bubble of contents.contents || []) row.appendChild(renderBubble(bubble));
    return row;
  }
  return renderBubble(contents);
}

function renderMessage(message) {
  switch (message.type) {
    case "text":
    case "textV2":
      return el("div", "bubble-text", message.text);
    case "template":
      return renderTemplate(message.template || {});
    case "flex":
      return renderFlex(message.contents || {});
    case "image":
      return imagePlaceholder(fileName(message.originalContentUrl));
    case "sticker":
      return el("div", "placeholder-msg", "スタンプ (" + message.packageId + "/" +
        message.stickerId + ")");
    case "location":
      return el("div", "placeholder-msg", "📍 " + (message.title || "") + "\n" +
        (message.address || ""));
    default:
      return el("div", "placeholder-msg", "[" + message.type + " メッセージ]");
  }
}

/* ---- timeline ----------------------------------------------------------------------- */

/* The newest message stays in view: the chat sticks to its bottom unless the person scrolled
 * up, also when the chat's box changes size (the rich menu loads, opens or closes). */
let stickToBottom = true;
function scrollDown() { chat.scrollTop = chat.scrollHeight; stickToBottom = true; }
chat.addEventListener("scroll", () => {
  stickToBottom = chat.scrollTop + chat.clientHeight >= chat.scrollHeight - 4;
});
new ResizeObserver(() => { if (stickToBottom) scrollDown(); }).observe(chat);

/* An empty chat says what to do first: add the account as a friend (the follow event). */
function showHint(show) {
  const hint = $("chat-hint");
  if (!show) { if (hint) hint.remove(); return; }
  if (hint) return;
  const box = el("div", "hint");
  box.id = "chat-hint";
  box.appendChild(el("p", null, "まだメッセージはありません。"));
  box.appendChild(el("p", null, "LINE で友だち追加したときと同じように、上の「友だち追加」" +
    "（または下の「はじめる」）を押すと、ボットからあいさつが届きます。" +
    "そのあと「連携」や「使い方」と送ってみてください。"));
  const add = el("button", "ok", "はじめる");
  add.type = "button";
  add.addEventListener("click", () => $("follow").click());
  box.appendChild(add);
  chat.appendChild(box);
}

function notice(text, isError) {
  const row = el("div", "row system");
  row.appendChild(el("div", "notice" + (isError ? " error" : ""), text));
  chat.appendChild(row);
  scrollDown();
}

function appendEntry(entry) {
  const message = entry.message || {};
  if (entry.sender === "user") {
    let shown = null;
    if (message.type === "text") shown = message.text;
    else if (message.type === "postback") shown = message.displayText || null;
    if (shown !== null) {
      const row = el("div", "row user");
      row.appendChild(el("span", "meta", timeLabel(entry.at)));
      row.appendChild(el("div", "bubble-text", shown));
      chat.appendChild(row);
    } else if (message.type === "postback") {
      notice("postback: " + message.data);
    } else {
      const labels = { follow: "友だち追加しました", unfollow: "ブロックしました" };
      notice(labels[message.type] || "イベント: " + message.type);
    }
    return;
  }
  const row = el("div", "row bot");
  row.appendChild(el("div", "avatar", "ベネ"));
  const body = renderMessage(message);
  row.appendChild(body);
  row.appendChild(el("span", "meta", timeLabel(entry.at) + (entry.via !== "reply" ? " " +
    entry.via : "")));
  chat.appendChild(row);
}

function renderQuickReplies() {
  quickBar.replaceChildren();
  const entry = state.lastBotEntry;
  const items = entry && entry.message.quickReply ? entry.message.quickReply.items || [] : [];
  quickBar.hidden = items.length === 0;
  for (const item of items) {
    const action = item.action || {};
    const node = actionElement(action, "qr");
    // A date picker hides the buttons only once a value is picked (it may be cancelled).
    if (action.type !== "datetimepicker") {
      node.addEventListener("click", () => { quickBar.hidden = true; });
    }
    quickBar.appendChild(node);
  }
}

async function poll() {
  if (!state.userId || state.polling) return;
  state.polling = true;
  const userId = state.userId;
  const view = state.view;
  try {
    const data = await api("GET", "/_emulator/users/" + userId + "/timeline?after=" +
      state.lastSeq);
    if (view !== state.view) return;
    let changed = false;
    if (data.entries.length) showHint(false);
    for (const entry of data.entries) {
      appendEntry(entry);
      state.lastSeq = Math.max(state.lastSeq, entry.seq);
      state.lastBotEntry = entry.sender === "bot" ? entry : null;
      changed = true;
    }
    if (changed) { renderQuickReplies(); scrollDown(); }
    showHint(state.lastSeq === 0);
    setStatus("接続中: " + userId);
  } catch (err) {
    setStatus("エミュレーターに接続できません: " + err.message);
  } finally {
    state.polling = false;
    if (view !== state.view) poll();  // redrawn meanwhile: fill the new view now
  }
}

function reportDelivery(result) {
  if (result.error) notice("Bot に届きませんでした: " + result.error, true);
  else if (result.status >= 300) notice("Bot の応答: HTTP " + result.status, true);
}

async function sendText(text) {
  const result = await api("POST", "/_emulator/users/" + state.userId + "/text", { text });
  reportDelivery(result);
  await pollSoon();
}

/* Right after the user sent something: look again shortly (the bot answers within tens of
 * milliseconds), not only at the next one-second tick. */
async function pollSoon() {
  await poll();
  for (const ms of [100, 300, 700]) setTimeout(poll, ms);
}

async function sendPostback(data, params, displayText) {
  const body = { data };
  if (params) body.params = params;
  if (displayText) body.displayText = displayText;
  const result = await api("POST", "/_emulator/users/" + state.userId + "/postback", body);
  reportDelivery(result);
  await pollSoon();
}

async function sendEvent(type) {
  const result = await api("POST", "/_emulator/users/" + state.userId + "/events", { type });
  reportDelivery(result);
  await poll();
}

/* ---- users -------------------------------------------------------------------------- */

async function loadUsers(selectId) {
  let { users } = await api("GET", "/_emulator/users");
  if (users.length === 0) {
    await api("POST", "/_emulator/users", { display_name: "デモユーザー" });
    users = (await api("GET", "/_emulator/users")).users;
  }
  userSelect.replaceChildren();
  for (const u of users) {
    const option = el("option", null, u.display_name + (u.following ? "" : " (ブロック中)"));
    option.value = u.user_id;
    userSelect.appendChild(option);
  }
  const wanted = users.find((u) => u.user_id === selectId) ||
    users.find((u) => u.display_name === "デモユーザー") || users[0];
  userSelect.value = wanted.user_id;
  switchUser(wanted.user_id);
}

function switchUser(userId) {
  state.view += 1;
  state.userId = userId;
  state.lastSeq = 0;
  state.lastBotEntry = null;
  chat.replaceChildren();
  renderQuickReplies();
  const url = new URL(window.location.href);
  url.searchParams.set("user", userId);
  window.history.replaceState(null, "", url);
  poll();
}

/* ---- wiring ------------------------------------------------------------------------- */

$("composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("message-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  try { await sendText(text); } catch (err) { notice("送信に失敗しました: " + err.message, true); }
});
userSelect.addEventListener("change", () => switchUser(userSelect.value));
$("follow").addEventListener("click", async () => { await sendEvent("follow"); loadUsers(state.userId); });
$("unfollow").addEventListener("click", async () => { await sendEvent("unfollow"); loadUsers(state.userId); });
$("new-user").addEventListener("click", async () => {
  const name = window.prompt("新しいユーザーの表示名", "ユーザー" + (userSelect.options.length + 1));
  if (!name) return;
  const user = await api("POST", "/_emulator/users", { display_name: name });
  await loadUsers(user.user_id);
});

// Hooks for other scripts on the page (the rich menu below uses them).
window.emulatorChat = { state, runAction, sendText, sendPostback, poll, actionElement };

loadUsers(new URLSearchParams(window.location.search).get("user"))
  .catch((err) => setStatus("エミュレーターに接続できません: " + err.message));
setInterval(poll, 1000);

/* ---- rich menu ------------------------------------------------------------------------ */
/* The user's current rich menu (their linked menu, else the default) under the chat: the
 * image with its tappable areas scaled to it, and the chat bar that opens and closes it.
 * Tapping an area does what LINE does (the emulator's /richmenu/tap runs message, postback
 * and richmenuswitch actions; uri actions open in the browser). */

const richArea = $("richmenu-area");
const rich = { userId: null, menuId: null, open: true, loading: false };

function richAreaLabel(action) {
  return action.label || action.displayText || action.text || action.data || action.uri || "";
}

function renderRichMenu(data) {
  richArea.replaceChildren();
  if (!data.menu) {
    richArea.dataset.richmenu = "none";
    richArea.appendChild(el("div", "richmenu-placeholder", "リッチメニューは設定されていません"));
    return;
  }
  const menu = data.menu;
  richArea.dataset.richmenu = data.richMenuId;
  const wrap = el("div", "richmenu");
  const panel = el("div", "richmenu-panel");
  panel.hidden = !rich.open;
  panel.style.aspectRatio = menu.size.width + " / " + menu.size.height;
  const image = el("img", "richmenu-image");
  image.src = data.imageUrl;
  image.alt = menu.name || "rich menu";
  panel.appendChild(image);
  (menu.areas || []).forEach((area, index) => {
    const b = area.bounds;
    const hit = el("button", "richmenu-hit");
    hit.type = "button";
    hit.style.left = (100 * b.x / menu.size.width) + "%";
    hit.style.top = (100 * b.y / menu.size.height) + "%";
    hit.style.width = (100 * b.width / menu.size.width) + "%";
    hit.style.height = (100 * b.height / menu.size.height) + "%";
    hit.title = area.action.type + ": " + richAreaLabel(area.action);
    hit.setAttribute("aria-label", richAreaLabel(area.action));
    hit.dataset.area = String(index);
    hit.addEventListener("click", () => tapRichMenu(index, area.action));
    panel.appendChild(hit);
  });
  const bar = el("button", "richmenu-bar", (menu.chatBarText || "メニュー") +
    (rich.open ? " ▼" : " ▲"));
  bar.type = "button";
  bar.addEventListener("click", () => {
    rich.open = !rich.open;
    panel.hidden = !rich.open;
    bar.textContent = (menu.chatBarText || "メニュー") + (rich.open ? " ▼" : " ▲");
  });
  wrap.appendChild(bar);
  wrap.appendChild(panel);
  richArea.appendChild(wrap);
}

async function loadRichMenu(force) {
  if (!state.userId || rich.loading) return;
  rich.loading = true;
  const userId = state.userId;
  try {
    const data = await api("GET", "/_emulator/users/" + userId + "/richmenu");
    if (userId !== state.userId) return;
    if (force || userId !== rich.userId || data.richMenuId !== rich.menuId) {
      rich.userId = userId;
      rich.menuId = data.richMenuId;
      renderRichMenu(data);
    }
  } catch (err) {
    setStatus("リッチメニューを取得できません: " + err.message);
  } finally {
    rich.loading = false;
  }
}

async function tapRichMenu(index, action) {
  if (action.type === "uri") { await runAction(action); return; }
  try {
    const result = await api("POST", "/_emulator/users/" + state.userId + "/richmenu/tap",
      { area: index });
    reportDelivery(result);
    await poll();
    await loadRichMenu();
  } catch (err) {
    notice("送信に失敗しました: " + err.message, true);
  }
}

window.emulatorChat.loadRichMenu = loadRichMenu;
loadRichMenu();
setInterval(loadRichMenu, 1000);
