#!/usr/bin/env python3
"""The cashier app (pos-kiosk) in a real headless Chromium, driven by
Selenium: one scenario per run, asserting what the screen shows. The
simulated hardware is worked through `posctl sim` (a card in the reader,
the PIN typed on the keypad), as a cashier and a customer would; the Rust
test around it (tests/tests/kiosk_browser.rs) asserts the simulator's
ledger. Every wait has a generous upper bound and waits for what the screen
shows, never for a time.

Also: a layout check run on every screen (no text cut off, nothing beyond
the viewport) with its negative control (`--scenario layout-control`).
"""
import argparse
import os
import subprocess
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 90  # seconds: a bound for failure, not a timing the test relies on

# What the screen says, in the page's first language (Chinese), from kiosk/assets/texts.js.
ZH = {
    "waiting-pin": "请持卡人在密码键盘上输入密码，按 # 确认",
    "waiting-card": "请插卡、挥卡或出示付款码",
    "approved": "交易成功",
    "declined": "交易被拒",
    "offline": "离线批准：网络恢复后自动上送",
    "unbound": "终端未绑定",
    "signed-in": "已签到",
    "balanced": "对账平",
}

LAYOUT_JS = r"""
const problems = [];
const W = window.innerWidth, H = window.innerHeight;
const shown = (e) => { for (let x = e; x; x = x.parentElement) { const s = getComputedStyle(x); if (x.hidden || s.display === 'none' || s.visibility === 'hidden') return false; } return true; };
for (const e of document.querySelectorAll('body *')) {
  if (!shown(e)) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const name = e.id ? '#' + e.id : e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '');
  const text = (e.innerText || '').trim().slice(0, 40);
  if (!text) continue;
  // Text wider than its box: cut off or spilling out.
  if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) problems.push(name + ' text wider than its box (' + e.scrollWidth + ' > ' + e.clientWidth + '): ' + text);
  // Anything beyond the screen's sides.
  if (r.right > W + 1 || r.left < -1) problems.push(name + ' beyond the screen (' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + W + '): ' + text);
}
// A dialog that needs scrolling hides part of itself.
for (const c of document.querySelectorAll('.overlay .card')) {
  if (shown(c) && c.scrollHeight > c.clientHeight + 1) problems.push('dialog ' + c.parentElement.id + ' taller than the screen (' + c.scrollHeight + ' > ' + c.clientHeight + ')');
}
return problems;
"""


class Screen:
    def __init__(self, args):
        self.args = args
        w, h = (int(x) for x in args.size.split("x"))
        self.size = args.size
        o = webdriver.ChromeOptions()
        o.binary_location = "/usr/bin/chromium"
        for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--disable-extensions", "--disable-background-networking", "--disable-sync", "--lang=zh-CN",
                  f"--window-size={w},{h}", f"--user-data-dir={os.environ.get('HOME', '/tmp')}/chromium-profile"]:
            o.add_argument(a)
        self.d = webdriver.Chrome(options=o, service=Service("/usr/bin/chromedriver"))
        # The panel's exact viewport, whatever the window decorations would take.
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})
        self.d.get(args.url)
        self.until(lambda: self.d.execute_script("return !!(window.state || (typeof state !== 'undefined' && state))"), "the page received posd's state")

    def close(self):
        try:
            self.d.quit()
        except Exception:
            pass

    def until(self, cond, what, timeout=WAIT):
        try:
            WebDriverWait(self.d, timeout, poll_frequency=0.05).until(lambda _d: cond())
        except Exception as e:
            self.fail(f"waited for: {what} ({type(e).__name__})")

    def fail(self, message):
        body = self.d.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{message}\n--- the screen shows ---\n{body}")

    def el(self, id_):
        return self.d.find_element(By.ID, id_)

    def text(self, id_):
        return self.el(id_).text.strip()

    def raw(self, id_):
        """The text of an element whether or not it is on screen now."""
        return (self.el(id_).get_attribute("textContent") or "").strip()

    def visible(self, id_):
        return self.el(id_).is_displayed()

    def click(self, id_):
        self.until(lambda: self.visible(id_) and self.el(id_).is_enabled(), f"#{id_} can be pressed")
        self.el(id_).click()

    def sim(self, *what):
        subprocess.run([self.args.posctl, "--bus", self.args.bus, "sim", *what], check=True, stdout=subprocess.DEVNULL)

    def shot(self, name):
        self.check_layout(name)
        os.makedirs(self.args.shots, exist_ok=True)
        self.d.save_screenshot(os.path.join(self.args.shots, f"{name}-{self.size}.png"))

    def layout_problems(self):
        return self.d.execute_script(LAYOUT_JS)

    def check_layout(self, where):
        problems = self.layout_problems()
        if problems:
            self.fail(f"layout of {where} at {self.size}: " + "; ".join(problems))

    def type_amount(self, yuan):
        for k in yuan:
            self.d.find_element(By.CSS_SELECTOR, f'#pad button[data-key="{k}"]').click()

    def tab(self, name):
        self.d.find_element(By.CSS_SELECTOR, f'#tabs button[data-tab="{name}"]').click()
        self.until(lambda: self.visible(name), f"the {name} page")

    def stage_is(self, key):
        self.until(lambda: self.visible("progress") and self.text("progress-stage") == ZH[key], f"the progress screen says {ZH[key]!r}")

    def result(self):
        self.until(lambda: self.visible("result") or self.visible("error"), "a result")
        if self.visible("error"):
            self.fail("an error instead of a result")
        return {k: self.text(f"result-{k}") for k in ["title", "amount", "note", "details"]}

    def done(self):
        self.click("result-done")
        self.until(lambda: not self.visible("result"), "the result closes")

    def sale_with_pin(self, yuan, card, pin, shot=None):
        """Types the amount, the card goes in, Charge; the customer types the PIN on the keypad when the screen asks
        (`pin` None: the card's CVM asks for none, and the result comes)."""
        self.type_amount(yuan)
        self.sim("insert", card)
        self.click("collect")
        if pin is None:
            r = self.result()
            self.sim("remove")
            return r
        self.stage_is("waiting-pin")
        if shot:
            self.sim("keys", pin[:3])
            self.until(lambda: self.text("pin-dots") == "●" * 3, "three PIN dots")
            self.shot(shot)
            self.sim("keys", pin[3:])
        else:
            self.sim("keys", pin)
        r = self.result()
        self.sim("remove")
        return r

    def press_on_today(self, result, button):
        """Closes the sale's result, opens Today and presses `button` (void, refund) on that sale's row; returns the row's selector."""
        stan = int(result["details"].split("凭证号")[1].split()[0])
        self.done()
        self.tab("today")
        item = f'#today-list .item[data-stan="{stan}"][data-kind="sale"]'
        self.until(lambda: self.d.find_elements(By.CSS_SELECTOR, f"{item} button.{button}"), f"the sale {stan} with a {button} button")
        self.d.find_element(By.CSS_SELECTOR, f"{item} button.{button}").click()
        return item

    def operator_pin(self, pin):
        self.until(lambda: self.visible("pin-dialog"), "the operator PIN dialog")
        box = self.el("operator-pin")
        box.clear()
        box.send_keys(pin)
        self.click("pin-ok")


def expect(cond, message, screen):
    if not cond:
        screen.fail(message)


def sale(s):
    """Home, a sale with the PIN on the keypad, a decline, Diagnose — and the screenshots."""
    expect(s.text("status") == ZH["signed-in"], "signed in on the home screen", s)
    s.shot("home")
    r = s.sale_with_pin("12.34", "default", "123456#", shot="sale-progress")
    expect(r["title"] == ZH["approved"], f"approved: {r}", s)
    expect(r["amount"] == "¥12.34", f"amount: {r}", s)
    expect("622848*********0018" in r["details"], f"masked card: {r}", s)
    expect("6228480000000000018" not in s.d.page_source, "no full PAN on the screen", s)
    s.shot("result")
    s.done()
    expect(s.text("amount") == "¥0.00", "the pad is cleared", s)
    d = s.sale_with_pin("50.00", "low-balance", "111111#")
    expect(d["title"] == ZH["declined"], f"declined: {d}", s)
    expect(d["amount"] == "¥50.00" and "51" in d["details"] and d["note"].startswith("余额不足"), f"the decline's reason in Chinese and its code: {d}", s)
    s.shot("declined")
    s.done()
    s.tab("diagnose")
    s.click("diagnose-go")
    s.until(lambda: len(s.d.find_elements(By.CSS_SELECTOR, "#diagnose-list .item")) > 3, "the Diagnose checklist")
    s.shot("diagnose")
    s.tab("home")
    # English at the touch of a button, everything on screen switched.
    s.click("lang")
    s.until(lambda: s.text("status") == "Signed in", "the status in English")
    expect(s.text("collect") == "Charge" and s.text("lang") == "中文", f"the page in English: {s.text('top')}", s)
    expect(not any("\u4e00" <= ch <= "\u9fff" for ch in s.text("tabs") + s.text("home").replace(s.text("merchant-name"), "")), f"no Chinese left on the page: {s.text('home')}", s)
    s.shot("home-en")


def diagnose_host_down(s):
    """The host refuses connections: the network row fails, with its remedy in plain words."""
    s.tab("diagnose")
    s.click("diagnose-go")
    s.until(lambda: len(s.d.find_elements(By.CSS_SELECTOR, "#diagnose-list .item")) > 3, "the Diagnose checklist")
    failing = [e for e in s.d.find_elements(By.CSS_SELECTOR, '#diagnose-list .item[data-status="fail"]')]
    network = [e for e in failing if e.get_attribute("data-category") == "network" and "host" in e.text]
    expect(network, "a failing network row for the host", s)
    row = network[0].text
    expect("✗ 网络" in row and "故障" in row, f"the row reads as failing network: {row}", s)
    expect("处理办法：" in row and "acquirer" in row, f"the row carries posd's remedy: {row}", s)
    expect("网络不通" in row and "致电收单机构" in row, f"and the plain-words hint in Chinese: {row}", s)
    expect(failing[0] == network[0] or failing[0].get_attribute("data-status") == "fail", "failing rows first", s)
    expect(s.text("diagnose-summary").endswith("项需要处理："), f"the summary counts what to fix: {s.text('diagnose-summary')}", s)
    s.shot("diagnose-host-down")


def offline_sale(s):
    """Host down: the sale is approved offline, and the Offline page shows it waiting."""
    r = s.sale_with_pin("8.80", "default", "123456#")
    expect(r["title"] == ZH["approved"] and r["note"] == ZH["offline"], f"approved offline: {r}", s)
    s.done()
    s.until(lambda: "1 笔" in s.text("queue-badge"), "home shows one payment waiting")
    expect("¥8.80" in s.text("queue-badge"), f"with its amount: {s.text('queue-badge')}", s)
    s.tab("offline")
    s.until(lambda: len(s.d.find_elements(By.CSS_SELECTOR, "#queue-list .item")) == 1, "one queued payment listed")
    expect("¥8.80" in s.text("queue-list"), f"the queued amount: {s.text('queue-list')}", s)
    expect("1 笔待上送" in s.text("queue-summary"), f"summary: {s.text('queue-summary')}", s)


def flush(s):
    """Host back: Forward now sends the queued payment once."""
    s.tab("offline")
    s.click("flush")
    s.until(lambda: s.text("flush-result") == "已上送 1 笔，剩余 0 笔。", "forwarded 1, 0 left")
    s.until(lambda: s.raw("queue-badge") == "无", "home shows nothing waiting")


def void_settle(s):
    """A sale, voided from today's list behind the operator PIN (a wrong one first); a second sale, part refunded; then settle."""
    r = s.sale_with_pin("20.00", "default", "123456#")
    expect(r["title"] == ZH["approved"], f"approved: {r}", s)
    item = s.press_on_today(r, "void")
    s.operator_pin("0000")
    s.until(lambda: "操作员密码" in s.text("pin-error") or "operator PIN" in s.text("pin-error"), "the wrong PIN is refused in the dialog")
    expect(s.visible("pin-dialog") and not s.visible("progress"), "nothing ran on a wrong PIN", s)
    # The void reads the card (no PIN: the original's cardholder verified it).
    s.sim("insert", "default")
    s.operator_pin(s.args.pin)
    v = s.result()
    s.sim("remove")
    expect(v["title"] == ZH["approved"] and v["amount"] == "¥20.00", f"void approved: {v}", s)
    s.done()
    s.until(lambda: "已撤销" in s.d.find_element(By.CSS_SELECTOR, item).text, "the sale is marked voided")
    expect(not s.d.find_elements(By.CSS_SELECTOR, item + " button.void"), "no Void button on a voided sale", s)
    # A refund of part of a second sale, from the same list, behind the PIN.
    s.tab("home")
    r2 = s.sale_with_pin("30.00", "default", "123456#")
    s.press_on_today(r2, "refund")
    s.until(lambda: s.visible("refund-row"), "the refund amount box")
    expect(s.el("refund-amount").get_attribute("value") == "30.00", "the amount proposed is the sale's", s)
    s.el("refund-amount").clear()
    s.el("refund-amount").send_keys("10.00")
    s.sim("insert", "default")
    s.operator_pin(s.args.pin)
    s.until(lambda: s.visible("result") or s.visible("error") or (s.visible("progress") and s.text("progress-stage") == ZH["waiting-pin"]), "the refund runs")
    if s.visible("progress"):
        s.sim("keys", "123456#")
    f = s.result()
    s.sim("remove")
    expect(f["title"] == ZH["approved"] and f["amount"] == "¥10.00", f"refund approved: {f}", s)
    s.done()
    s.until(lambda: s.d.find_elements(By.CSS_SELECTOR, '#today-list .item[data-kind="refund"]'), "the refund is listed")
    s.tab("settle")
    s.click("settle-go")
    s.operator_pin(s.args.pin)
    s.until(lambda: ZH["balanced"] in s.text("settle-result"), "settled and balanced")
    s.shot("settled")


def activate(s):
    """An unbound terminal: the app says so and activates with the code."""
    s.until(lambda: s.visible("bind"), "the activation page")
    expect(s.text("status") == "未绑定" and ZH["unbound"] in s.text("bind"), "unbound, in the merchant's words", s)
    expect(not s.visible("tabs"), "no payment pages before binding", s)
    s.shot("activate")
    s.el("bind-code").send_keys("999999")
    s.click("bind-go")
    s.until(lambda: s.visible("error"), "an unknown code is an error")
    expect(s.text("error-title") == "终端未绑定" and s.text("error-message") and s.text("error-remedy"), f"the error's sentence and remedy: {s.text('error')}", s)
    expect(not any(ch.isdigit() and s.text("error-title").startswith(ch) for ch in "0123456789"), "no raw code as the title", s)
    s.click("error-ok")
    s.el("bind-code").clear()
    s.el("bind-code").send_keys("483920")
    s.click("bind-go")
    s.until(lambda: s.visible("home") and s.text("status") == ZH["signed-in"], "bound and signed in")
    expect(s.text("merchant-name") != "smartpos" and s.text("terminal-id").startswith("终端号"), f"merchant shown: {s.text('top')}", s)
    expect("¥" in s.text("deposit"), f"the deposit: {s.text('deposit')}", s)


def layout_control(s):
    """The layout check's negative control: it must see a cut-off amount and a box beyond the screen."""
    expect(not s.layout_problems(), f"the plain home screen is clean: {s.layout_problems()}", s)
    s.d.execute_script("const st = document.createElement('style'); st.textContent = '#amount { width: 60px; white-space: nowrap; overflow: hidden; }'; document.head.append(st);")
    s.type_amount("12345.67")
    p = s.layout_problems()
    expect(any(x.startswith("#amount") for x in p), f"a cut-off amount is seen: {p}", s)
    s.d.execute_script("const b = document.createElement('div'); b.id = 'spill'; b.textContent = 'spill'; b.style.cssText = 'position:fixed;left:' + (innerWidth - 10) + 'px;top:10px;width:200px'; document.body.append(b);")
    p = s.layout_problems()
    expect(any(x.startswith("#spill beyond the screen") for x in p), f"a box beyond the screen is seen: {p}", s)
    print("layout control: the check caught both planted faults")


def tour(s):
    """scripts/demo --kiosk: the main screens after the demo's day (a sale with the PIN, today's list, the queue, Diagnose)."""
    s.shot("home")
    r = s.sale_with_pin("9.99", "default", "123456#", shot="sale-progress")
    expect(r["title"] == ZH["approved"], f"approved: {r}", s)
    s.shot("result")
    s.done()
    for page in ["today", "offline", "diagnose"]:
        s.tab(page)
        if page == "diagnose":
            s.click("diagnose-go")
            s.until(lambda: len(s.d.find_elements(By.CSS_SELECTOR, "#diagnose-list .item")) > 3, "the Diagnose checklist")
        else:
            s.until(lambda: s.d.find_elements(By.CSS_SELECTOR, f"#{page} .item, #{page} p"), f"the {page} page filled")
        s.shot(page)


SCENARIOS = {"tour": tour, "sale": sale, "diagnose-host-down": diagnose_host_down, "offline-sale": offline_sale, "flush": flush,
             "void-settle": void_settle, "activate": activate, "layout-control": layout_control}


def main():
    ap = argparse.ArgumentParser()
    for a in ["--url", "--bus", "--posctl", "--scenario", "--size", "--shots", "--pin"]:
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    s = Screen(args)
    try:
        SCENARIOS[args.scenario](s)
    finally:
        s.close()
    print(f"{args.scenario} at {args.size}: ok")


if __name__ == "__main__":
    sys.exit(main())
