#!/usr/bin/env python3
"""Smoke test of the WS-Management test endpoint, without the project's client: replays the client
requests of recorded pypsrp conversations with Windows Server (../../shared/fixtures/pypsrp-wsman) against
the endpoint, with the endpoint's ShellIds and Basic authentication, and checks what comes back: the
replies parse, PSRP messages arrive on stdout (RUNSPACEPOOL_STATE, PIPELINE_OUTPUT, PIPELINE_STATE),
Signal stops a pipeline, Delete, Disconnect/Reconnect, Connect by a new client, Enumerate, the idle
timeout of a disconnected shell, the OperationTimeout fault, the envelope-size limits and Basic auth.

    python3 tests/wsman-endpoint/smoke.py            # starts the endpoint itself (build/wsman-endpoint)
    python3 tests/wsman-endpoint/smoke.py --keep-log # and prints its stderr at the end

Exit status 0 when every check passed.
"""
import base64
import http.client
import os
import re
import ssl
import struct
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.environ.get("RSESS_FIXTURES", os.path.join(REPO, "..", "shared", "fixtures", "pypsrp-wsman"))
USER, PASSWORD = "smoke", "s3cret"

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
    "ps": "http://schemas.microsoft.com/powershell",
}

# PSRP message types (MS-PSRP 2.2.1)
SESSION_CAPABILITY = 0x00010002
RUNSPACEPOOL_STATE = 0x00021005
APPLICATION_PRIVATE_DATA = 0x00021009
RUNSPACEPOOL_INIT_DATA = 0x0002100B
PIPELINE_OUTPUT = 0x00041004
PIPELINE_STATE = 0x00041006

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


def conversation(name):
    """The recorded (request, response) pairs of a fixture: one line each in the yml."""
    text = open(os.path.join(FIXTURES, name), encoding="utf-8").read()
    return re.findall(r"^- request: (.*)\n  response: (.*)$", text, re.M)


def requests_of(name, action):
    return [rq for rq, _ in conversation(name) if re.search(r"Action[^>]*>[^<]*/%s<" % action, rq)]


def psrp_messages(data):
    """(message type, blob) of each PSRP message that starts in these fragments."""
    out = []
    while len(data) >= 21:
        _, _, flags, length = struct.unpack(">QQBI", data[:21])
        blob = data[21:21 + length]
        data = data[21 + length:]
        if flags & 1 and len(blob) >= 40:
            out.append((struct.unpack("<I", blob[4:8])[0], blob[40:]))
    return out


class Endpoint:
    def __init__(self, extra=(), log="smoke-endpoint.log"):
        pwsh = os.environ.get("PWSH", os.path.join(REPO, "build", "tools", "pwsh", "pwsh"))
        if not os.path.exists(pwsh):
            pwsh = "pwsh"
        self.log = open(os.path.join(REPO, "build", "wsman-endpoint", log), "w")
        self.proc = subprocess.Popen(
            [pwsh, "-NoProfile", "-NonInteractive", "-File", os.path.join(HERE, "Start-Endpoint.ps1"),
             "--user", USER, "--password", PASSWORD, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening http=(\d+) https=(\d+)", line)
        if not m:
            raise SystemExit("the endpoint did not start: %r" % line)
        self.http, self.https = int(m.group(1)), int(m.group(2))

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


class Client:
    """One client session: its own connection, SessionId and credentials."""

    def __init__(self, endpoint, tls=True, user=USER, password=PASSWORD):
        self.endpoint = endpoint
        self.tls = tls
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.session = "uuid:" + str(uuid.uuid4()).upper()
        self.conn = None

    def connection(self):
        if self.conn is None:
            if self.tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.endpoint.https, context=ctx, timeout=120)
            else:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.endpoint.http, timeout=120)
        return self.conn

    def post(self, body, headers=None):
        h = {"Content-Type": "application/soap+xml;charset=UTF-8", "Authorization": self.auth}
        h.update(headers or {})
        if h.get("Authorization") is None:
            del h["Authorization"]
        conn = self.connection()
        conn.request("POST", "/wsman", body=body.encode("utf-8") if isinstance(body, str) else body, headers=h)
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, reply, data

    def send(self, recorded, shell_id=None, old_shell=None, command_id=None, old_command=None, timeout=None, sub=None):
        """A recorded request with this client's MessageID, SessionId, To, ids and timeout."""
        rq = re.sub(r"<wsa:MessageID>[^<]*</wsa:MessageID>", "<wsa:MessageID>uuid:%s</wsa:MessageID>" % str(uuid.uuid4()).upper(), recorded)
        rq = re.sub(r"(<wsmv:SessionId[^>]*>)[^<]*(</wsmv:SessionId>)", r"\g<1>%s\g<2>" % self.session, rq)
        rq = re.sub(r"<wsa:To>[^<]*</wsa:To>", "<wsa:To>%s://127.0.0.1:%d/wsman</wsa:To>" % (
            "https" if self.tls else "http", self.endpoint.https if self.tls else self.endpoint.http), rq)
        if shell_id and old_shell:
            rq = rq.replace(">%s<" % old_shell, ">%s<" % shell_id).replace('ShellId="%s"' % old_shell, 'ShellId="%s"' % shell_id)
        if command_id and old_command:
            rq = rq.replace('CommandId="%s"' % old_command, 'CommandId="%s"' % command_id)
        if timeout:
            rq = re.sub(r"<wsman:OperationTimeout>[^<]*</wsman:OperationTimeout>", "<wsman:OperationTimeout>%s</wsman:OperationTimeout>" % timeout, rq)
        for old, new in (sub or {}).items():
            rq = rq.replace(old, new)
        status, _, data = self.post(rq)
        root = ET.fromstring(data)
        return status, root


def fault_code(root):
    f = root.find(".//f:WSManFault", NS)
    return int(f.get("Code")) if f is not None else None


def action(root):
    a = root.find("s:Header/a:Action", NS)
    return a.text if a is not None else None


def receive_until(client, recorded, shell_id, old_shell, want, command_id=None, old_command=None, limit=60):
    """Receives until a message of type `want` came (or the command is Done): the message types and blobs."""
    seen, done, deadline = [], False, time.time() + limit
    while time.time() < deadline:
        status, root = client.send(recorded, shell_id, old_shell, command_id, old_command, timeout="PT5S")
        if status == 500 and fault_code(root) == 2150858793:
            continue
        if not check(status == 200 and root.find(".//rsp:ReceiveResponse", NS) is not None, "Receive answered (%d %s)" % (status, fault_code(root))):
            return seen, done
        for s in root.findall(".//rsp:ReceiveResponse/rsp:Stream", NS):
            if command_id and s.get("CommandId") != command_id:
                check(False, "a stream of another command: %s" % s.get("CommandId"))
            seen.extend(psrp_messages(base64.b64decode(s.text or "")))
        state = root.find(".//rsp:CommandState", NS)
        if state is not None and state.get("State", "").endswith("/Done"):
            done = True
        if any(t == want for t, _ in seen) or done:
            return seen, done
    return seen, done


def patch_pool(b64, rpid):
    """The fragments in `b64` with the RunspacePoolId of each message set to `rpid` (16 bytes)."""
    data, out = base64.b64decode(b64), b""
    while len(data) >= 21:
        head, flags, length = data[:21], data[16], struct.unpack(">I", data[17:21])[0]
        blob = data[21:21 + length]
        if flags & 1:
            blob = blob[:8] + rpid + blob[24:]
        out += head + blob
        data = data[21 + length:]
    return base64.b64encode(out).decode()


def dfx_name():
    return "test_psrp_disconnect_runspaces.yml"


def create(client, fixture):
    recorded = requests_of(fixture, "Create")[0]
    old = re.search(r'ShellId="([^"]+)"', recorded).group(1)
    new = str(uuid.uuid4()).upper()
    status, root = client.send(recorded, new, old)
    ok = check(status == 200 and action(root).endswith("CreateResponse"), "%s: Create answered CreateResponse" % fixture)
    sel = root.find(".//x:ResourceCreated/a:ReferenceParameters/w:SelectorSet/w:Selector", NS)
    shell = root.find(".//rsp:Shell", NS)
    check(ok and sel is not None and sel.text == new and shell is not None and shell.findtext("rsp:ShellId", None, NS) == new,
          "Create kept the client's ShellId in ResourceCreated and rsp:Shell")
    check(shell is not None and shell.findtext("rsp:Owner", None, NS) == USER and shell.findtext("rsp:State", None, NS) == "Connected",
          "rsp:Shell names the owner and is Connected")
    return new, old


def open_pool(client, fixture, shell, old):
    recv = [r for r in requests_of(fixture, "Receive") if "CommandId" not in r][0]
    seen, _ = receive_until(client, recv, shell, old, RUNSPACEPOOL_STATE)
    types = [t for t, _ in seen]
    check(SESSION_CAPABILITY in types, "stdout carried SESSION_CAPABILITY (0x00010002)")
    states = [b for t, b in seen if t == RUNSPACEPOOL_STATE]
    check(bool(states) and b'<I32 N="RunspaceState">2</I32>' in states[-1], "stdout carried RUNSPACEPOOL_STATE (0x00021005) Opened")
    return recv


def main():
    endpoint = Endpoint(["--min-idle-ms", "2000", "--max-envelope-kb", "150"])
    try:
        run(endpoint)
    finally:
        endpoint.stop()
    log = open(os.path.join(REPO, "build", "wsman-endpoint", "smoke-endpoint.log")).read()
    other = Endpoint(log="smoke-endpoint-sigterm.log")
    other.proc.send_signal(15)
    try:
        check(other.proc.wait(timeout=30) == 0, "SIGTERM stops the endpoint (exit 0)")
    except subprocess.TimeoutExpired:
        check(False, "SIGTERM stops the endpoint")
        other.proc.kill()
    other.log.close()
    check("idle timeout" in log, "the endpoint logged the idle timeout of the disconnected shell")
    check("FAULT" in log, "the endpoint logged faults on stderr")
    if "--keep-log" in sys.argv:
        print(log)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


def run(endpoint):
    c = Client(endpoint)

    # Basic authentication on every request.
    status, reply, _ = c.post("<x/>", {"Authorization": None})
    check(status == 401 and reply.getheader("WWW-Authenticate") == 'Basic realm="WSMAN"', "no credentials: 401 with Basic realm=\"WSMAN\"")
    bad = Client(endpoint, user=USER, password="wrong")
    status, _, _ = bad.post("<x/>")
    check(status == 401, "wrong password: 401")

    # Identify and the configuration Get.
    status, _, data = Client(endpoint, tls=False).post(
        '<s:Envelope xmlns:s="%s" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>' % NS["s"])
    check(status == 200 and b"IdentifyResponse" in data, "Identify over HTTP")
    status, root = c.send(requests_of("test_wsman_update_envelope_size_150.yml", "Get")[0])
    check(status == 200 and root.findtext(".//cfg:MaxEnvelopeSizekb", None, NS) == "150", "Get of the config: MaxEnvelopeSizekb 150")

    # A shell that runs a command to its end: Create, the pool opens, Command, output, Done, Delete.
    fx = "test_psrp_long_running_cmdlet.yml"
    shell, old = create(c, fx)
    open_pool(c, fx, shell, old)
    cmd_rq = requests_of(fx, "Command")[0]
    old_cmd = re.search(r'CommandId="([^"]+)"', cmd_rq).group(1)
    status, root = c.send(cmd_rq, shell, old)
    cmd = root.findtext(".//rsp:CommandResponse/rsp:CommandId", None, NS)
    check(status == 200 and cmd == old_cmd, "Command answered CommandResponse with the client's CommandId")
    recv_cmd = [r for r in requests_of(fx, "Receive") if "CommandId" in r][0]
    t0 = time.time()
    status, root = c.send(recv_cmd, shell, old, cmd, old_cmd, timeout="PT1S")
    if fault_code(root) == 2150858793:
        check(status == 500 and root.find(".//s:Subcode/s:Value", NS).text == "w:TimedOut" and time.time() - t0 < 4,
              "a Receive with nothing to say gets the w:TimedOut fault 2150858793 after its OperationTimeout")
    seen, done = receive_until(c, recv_cmd, shell, old, None, cmd, old_cmd)
    types = [t for t, _ in seen]
    check(PIPELINE_OUTPUT in types and any(b"hi" in b for t, b in seen if t == PIPELINE_OUTPUT), "stdout of the command carried PIPELINE_OUTPUT (0x00041004) 'hi'")
    check(PIPELINE_STATE in types and done, "the command ended: PIPELINE_STATE (0x00041006) and CommandState Done")
    sig = requests_of("test_winrs_operation_timeout.yml", "Signal")[0]
    sig_old_shell = re.search(r'Name="ShellId">([^<]+)<', sig).group(1)
    sig_old_cmd = re.search(r'CommandId="([^"]+)"', sig).group(1)
    sig = sig.replace("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd", "http://schemas.microsoft.com/powershell/Microsoft.PowerShell")
    term = sig.replace("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c", "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate")
    t0 = time.time()
    status, root = c.send(term, shell, sig_old_shell, cmd, sig_old_cmd)
    check(status == 200 and root.find(".//rsp:SignalResponse", NS) is not None and time.time() - t0 < 2,
          "Signal terminate of the completed command (as a PowerShell client sends it) answered at once")
    status, root = c.send(requests_of(fx, "Delete")[0], shell, old)
    check(status == 200 and action(root).endswith("DeleteResponse"), "Delete answered DeleteResponse")
    get = requests_of("test_psrp_is_alive_invalid_selectors.yml", "Get")[-1]
    old_get = re.search(r'Name="ShellId">([^<]+)<', get).group(1)
    status, root = c.send(get, shell, old_get)
    check(status == 500 and fault_code(root) == 2150858843 and root.find(".//s:Subcode/s:Value", NS).text == "w:InvalidSelectors",
          "Get of a deleted shell: w:InvalidSelectors 0x8033805B")

    # Signal: the same long-running pipeline stopped by powershell/signal/crtl_c.
    shell, old = create(c, fx)
    open_pool(c, fx, shell, old)
    # The recorded pipeline with its first Start-Sleep made 30 s (same length: the fragment stays valid).
    args = re.search(r"<rsp:Arguments>([^<]+)</rsp:Arguments>", cmd_rq).group(1)
    longer = base64.b64encode(base64.b64decode(args).replace(b'<I32 N="V">10</I32>', b'<I32 N="V">30</I32>', 1)).decode()
    status, root = c.send(cmd_rq.replace(args, longer), shell, old)
    check(status == 200, "second Command (Start-Sleep 30) started")
    status, root = c.send(recv_cmd, shell, old, cmd, old_cmd, timeout="PT2S")
    check(status == 500 and fault_code(root) == 2150858793, "nothing to receive during Start-Sleep: w:TimedOut")
    sig = sig.replace("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c", "powershell/signal/crtl_c")
    enum_cmds = [r for r in requests_of(dfx_name(), "Enumerate") if "windows/shell/Command<" in r][0]
    old_filter = re.search(r'Name="ShellId">([^<]+)<', enum_cmds).group(1)
    status, root = c.send(enum_cmds, shell, old_filter)
    ids = [e.text for e in root.findall(".//w:Items/*/rsp:CommandId", NS)]
    check(status == 200 and ids == [cmd], "Enumerate of the shell's commands (SelectorFilter ShellId) lists the running command")
    # The Receive long-polls on one connection while the Signal comes on another.
    poller = Client(endpoint)
    poller.session = c.session
    result = {}
    thread = threading.Thread(target=lambda: result.update(zip(("seen", "done"), receive_until(poller, recv_cmd, shell, old, PIPELINE_STATE, cmd, old_cmd))))
    thread.start()
    time.sleep(1)
    t0 = time.time()
    status, root = c.send(sig, shell, sig_old_shell, cmd, sig_old_cmd)
    check(status == 200 and root.find(".//rsp:SignalResponse", NS) is not None, "Signal crtl_c answered SignalResponse while a Receive was pending on another connection")
    thread.join(60)
    seen, done = result.get("seen", []), result.get("done", False)
    states = [b for t, b in seen if t == PIPELINE_STATE]
    check(bool(states) and b'<I32 N="PipelineState">3</I32>' in states[-1] and done and time.time() - t0 < 8, "the pipeline stopped (PIPELINE_STATE Stopped) before Start-Sleep ended")
    status, root = c.send(term, shell, sig_old_shell, cmd, sig_old_cmd)
    check(status == 200, "Signal terminate of the finished command answered")
    status, root = c.send(recv_cmd, shell, old, cmd, old_cmd, timeout="PT1S")
    check(status == 500 and fault_code(root) == 2150858843, "Receive of a terminated command: InvalidSelectors")

    # Host calls: the recorded conversation whose pipeline calls the host (Read-Host & co.): the plugin
    # reports CommandState Pending with each call, the client answers on the "pr" stream.
    hfx = "test_psrp_pshost_ui_mocked_methods.yml"
    hshell, hold = create(c, hfx)
    hrecv = open_pool(c, hfx, hshell, hold)
    sends = requests_of(hfx, "Send")
    status, root = c.send(sends[0], hshell, hold)
    check(status == 200 and root.find(".//rsp:SendResponse", NS) is not None, "Send on stdin of the shell (PUBLIC_KEY) answered SendResponse")
    seen, _ = receive_until(c, hrecv, hshell, hold, 0x00010006)
    check(0x00010006 in [t for t, _ in seen], "the pool answered ENCRYPTED_SESSION_KEY (0x00010006)")
    hcmd_rq = requests_of(hfx, "Command")[0]
    hcmd = re.search(r'CommandId="([^"]+)"', hcmd_rq).group(1)
    status, root = c.send(hcmd_rq, hshell, hold)
    check(status == 200, "host-call pipeline started")
    hrecv_cmd = [r for r in requests_of(hfx, "Receive") if "CommandId" in r][0]
    pending, answered, done = 0, 0, False
    deadline = time.time() + 90
    while not done and time.time() < deadline:
        status, root = c.send(hrecv_cmd, hshell, hold, timeout="PT5S")
        if status == 500 and fault_code(root) == 2150858793:
            continue
        if not check(status == 200, "Receive of the host-call pipeline (%d %s)" % (status, fault_code(root))):
            break
        state = root.find(".//rsp:CommandState", NS)
        if state is not None and state.get("State", "").endswith("/Done"):
            done = True
        elif state is not None and state.get("State", "").endswith("/Pending"):
            pending += 1
            if answered + 1 < len(sends):
                answered += 1
                status, root = c.send(sends[answered], hshell, hold)
                if status == 500:
                    # A recorded answer that carries a secure string was encrypted with the session key of
                    # the recorded conversation: this server cannot decrypt it, and the plugin fails the
                    # shell. Its error must come back as Windows shapes a plugin's: w:InternalError with
                    # the plugin's code and a ProviderFault.
                    check(root.find(".//s:Subcode/s:Value", NS).text == "w:InternalError" and fault_code(root) == 0x80540FA0
                          and root.find(".//f:ProviderFault", NS) is not None,
                          "a host response the plugin cannot decrypt: w:InternalError 0x80540FA0 with a ProviderFault")
                    break
                check(status == 200, "host response on the pr stream answered SendResponse")
    check(pending >= 2 and answered >= 2, "the host-call pipeline reported CommandState Pending (%d times) and took %d host responses" % (pending, answered))
    status, root = c.send(requests_of(hfx, "Delete")[0], hshell, hold)
    check(status == 200, "Delete of the host-call shell")

    # Disconnect and Reconnect by the same client; Receive refused while disconnected.
    dfx = "test_psrp_disconnect_runspaces.yml"
    disc = requests_of(dfx, "Disconnect")[0]
    disc_old = re.search(r'Name="ShellId">([^<]+)<', disc).group(1)
    status, root = c.send(disc.replace("<rsp:Disconnect />", '<rsp:Disconnect><rsp:IdleTimeOut>PT600.000S</rsp:IdleTimeOut></rsp:Disconnect>'), shell, disc_old)
    check(status == 200 and action(root).endswith("DisconnectResponse"), "Disconnect answered DisconnectResponse")
    status, root = c.send(requests_of(dfx, "Enumerate")[0])
    items = root.findall(".//w:Items/rsp:Shell", NS)
    mine = [i for i in items if i.findtext("rsp:ShellId", None, NS) == shell]
    check(status == 200 and len(mine) == 1 and mine[0].findtext("rsp:State", None, NS) == "Disconnected"
          and mine[0].findtext("rsp:IdleTimeOut", None, NS) == "PT600.000S" and root.find(".//w:EndOfSequence", NS) is not None,
          "Enumerate of shells lists the shell Disconnected with IdleTimeOut PT600.000S")
    status, root = c.send(recv_cmd.replace(' CommandId="%s"' % old_cmd, ""), shell, old, timeout="PT1S")
    check(status == 500 and fault_code(root) == 0x803381C4, "Receive on a disconnected shell: 0x803381C4 (shell disconnected)")
    status, root = Client(endpoint).send(requests_of(dfx, "Reconnect")[0], shell, disc_old)
    check(status == 500 and fault_code(root) == 0x803381C6, "Reconnect from another client session: 0x803381C6 (client session id mismatch)")
    # Enumerate without OptimizeEnumeration: a context, then Pull.
    enum = requests_of(dfx, "Enumerate")[0].replace("<wsman:OptimizeEnumeration />", "")
    status, root = c.send(enum)
    context = root.findtext(".//n:EnumerateResponse/n:EnumerationContext", None, NS)
    check(status == 200 and context and root.find(".//w:Items", NS) is None, "Enumerate without OptimizeEnumeration: an EnumerationContext, no items")
    pull = re.sub(r"enumeration/Enumerate<", "enumeration/Pull<", enum)
    pull = re.sub(r"<wsen:Enumerate>.*</wsen:Enumerate>", "<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>20</wsen:MaxElements></wsen:Pull>" % context, pull)
    status, root = c.send(pull)
    pulled = [i.findtext("rsp:ShellId", None, NS) for i in root.findall(".//n:PullResponse/n:Items/rsp:Shell", NS)]
    check(status == 200 and shell in pulled and root.find(".//n:EndOfSequence", NS) is not None, "Pull returns the shells and EndOfSequence")
    status, root = c.send(requests_of(dfx, "Reconnect")[0], shell, disc_old)
    check(status == 200 and action(root).endswith("ReconnectResponse"), "Reconnect by the client that disconnected answered ReconnectResponse")
    status, root = c.send(requests_of(dfx, "Delete")[0], shell, disc_old)
    check(status == 200, "Delete after Reconnect")

    # Connect from another client to a disconnected shell (the recorded connectXml of this pool).
    shell, old = create(c, dfx)
    open_pool(c, dfx, shell, old)
    status, root = c.send(disc, shell, disc_old)
    check(status == 200, "Disconnect of the second shell")
    other = Client(endpoint, tls=False)
    con = [r for r in requests_of(dfx, "Connect") if old in r][0]
    status, root = other.send(con, shell, old)
    xml = root.findtext(".//rsp:ConnectResponse/ps:connectResponseXml", None, NS)
    types = [t for t, _ in psrp_messages(base64.b64decode(xml or ""))]
    check(status == 200 and SESSION_CAPABILITY in types and RUNSPACEPOOL_INIT_DATA in types,
          "Connect by another client: ConnectResponse with connectResponseXml (SESSION_CAPABILITY, RUNSPACEPOOL_INIT_DATA)")
    status, root = other.send(requests_of(dfx, "Enumerate")[0])
    mine = [i for i in root.findall(".//w:Items/rsp:Shell", NS) if i.findtext("rsp:ShellId", None, NS) == shell]
    check(len(mine) == 1 and mine[0].findtext("rsp:State", None, NS) == "Connected", "after Connect the shell is Connected")
    status, root = other.send(requests_of(dfx, "Delete")[0], shell, disc_old)
    check(status == 200, "the new client deletes the shell")

    # A pipeline that runs on while its shell is disconnected: nothing it wrote is lost. The recorded
    # long-running pipeline (Start-Sleep 02 here), moved to this pool, runs; the client disconnects at
    # once; another client connects to the pool, then to the command, and receives all of its output.
    shell, old = create(c, dfx)
    open_pool(c, dfx, shell, old)
    creation = re.search(r"<creationXml[^>]*>([^<]+)<", requests_of(dfx, "Create")[0]).group(1)
    rpid = base64.b64decode(creation)[21 + 8:21 + 24]
    args = re.search(r"<rsp:Arguments>([^<]+)</rsp:Arguments>", cmd_rq).group(1)
    moved = patch_pool(base64.b64encode(base64.b64decode(args).replace(b'<I32 N="V">10</I32>', b'<I32 N="V">02</I32>')).decode(), rpid)
    fx_old = re.search(r'Name="ShellId">([^<]+)<', cmd_rq).group(1)
    status, root = c.send(cmd_rq.replace(args, moved), shell, fx_old)
    check(status == 200, "a pipeline of 2+2 s started in the pool of the disconnect conversation")
    status, root = c.send(disc, shell, disc_old)
    check(status == 200, "Disconnect while the pipeline runs")
    time.sleep(6)
    other = Client(endpoint)
    status, root = other.send(con, shell, old)
    check(status == 200 and root.find(".//ps:connectResponseXml", NS) is not None, "another client connects to the pool")
    status, root = other.send(enum_cmds, shell, old_filter)
    ids = [e.text for e in root.findall(".//w:Items/*/rsp:CommandId", NS)]
    check(ids == [cmd], "Enumerate of the shell's commands lists the pipeline that ran while disconnected")
    cmd_con = re.sub(r"<rsp:Connect>.*</rsp:Connect>", '<rsp:Connect CommandId="%s"/>' % cmd, con)
    status, root = other.send(cmd_con, shell, old)
    check(status == 200 and root.find(".//rsp:ConnectResponse", NS) is not None, "Connect to the command (rsp:Connect CommandId)")
    seen, done = receive_until(other, recv_cmd, shell, fx_old, None, cmd, old_cmd)
    check(any(b"hi" in b for t, b in seen if t == PIPELINE_OUTPUT) and PIPELINE_STATE in [t for t, _ in seen] and done,
          "the new client received the output written while disconnected: PIPELINE_OUTPUT 'hi', PIPELINE_STATE, Done")
    status, root = other.send(requests_of(dfx, "Delete")[0], shell, disc_old)
    check(status == 200, "Delete by the new client")

    # Idle timeout of a disconnected shell (--min-idle-ms 2000: PT1S becomes 2 s).
    shell, old = create(c, "test_psrp_open_runspace.yml")
    open_pool(c, "test_psrp_open_runspace.yml", shell, old)
    status, root = c.send(disc.replace("<rsp:Disconnect />", '<rsp:Disconnect><rsp:IdleTimeOut>PT1.000S</rsp:IdleTimeOut></rsp:Disconnect>'), shell, disc_old)
    check(status == 200, "Disconnect with IdleTimeOut PT1.000S")
    time.sleep(4)
    status, root = c.send(get, shell, old_get)
    check(status == 500 and fault_code(root) == 2150858843, "the idle disconnected shell was deleted (Get: InvalidSelectors)")

    # The plugin's own refusals come back as Windows wraps a plugin's errors.
    rq = requests_of("test_psrp_open_runspace.yml", "Create")[0]
    old = re.search(r'ShellId="([^"]+)"', rq).group(1)
    status, root = c.send(rq.replace(">2.3</wsman:Option>", ">3.0</wsman:Option>"), str(uuid.uuid4()).upper(), old)
    check(status == 500 and fault_code(root) == 0x80540BC5 and "PSProtocolVersionError" in (root.findtext(".//f:ProviderFault", "", NS) or ""),
          "Create with protocolversion 3.0: the plugin's ProtocolVersionNotMatch 0x80540BC5 in a ProviderFault")
    status, root = c.send(rq.replace('Name="protocolversion">2.3<', 'Name="WINRS_NOPROFILE">TRUE<'), str(uuid.uuid4()).upper(), old)
    check(status == 500 and fault_code(root) == 0x80540BC7, "Create without protocolversion: the plugin's ProtocolVersionNotFound 0x80540BC7")

    # Envelope size: the service's limit (HTTP 413) and a client MaxEnvelopeSize under 8192 (w:EncodingLimit).
    big = "<x>" + "A" * (151 * 1024) + "</x>"
    status, _, _ = c.post(big)
    check(status == 413, "a request over MaxEnvelopeSizekb (150 KB) is refused with HTTP 413")
    small = re.sub(r"<wsman:MaxEnvelopeSize[^>]*>\d+<", '<wsman:MaxEnvelopeSize s:mustUnderstand="true">4096<', requests_of("test_wsman_update_envelope_size_150.yml", "Get")[0])
    status, root = c.send(small)
    check(status == 500 and root.find(".//s:Subcode/s:Value", NS).text == "w:EncodingLimit", "MaxEnvelopeSize 4096: w:EncodingLimit fault")


if __name__ == "__main__":
    sys.exit(main())
