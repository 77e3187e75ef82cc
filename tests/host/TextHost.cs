using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;

namespace RemoteSessions.TestHost;

/// <summary>
/// A minimal PowerShell host whose user interface writes text to a <see cref="TextWriter"/>, so that
/// <c>Out-Default</c> renders formatted views (ps1xml tables and lists) the way a console shows them.
/// Used by the demo host program, the xunit tests (to read formatted output) and the benchmark.
/// Prompts are not supported: anything that asks for input fails with <see cref="HostException"/>.
/// Enter-PSSession pushes a remote runspace onto it (<see cref="IHostSupportsInteractiveSession"/>):
/// whoever runs commands through the host runs them in <see cref="Runspace"/>, as a console does, so
/// they run in the entered session until Exit-PSSession pops it.
/// </summary>
public sealed class TextHost : PSHost, IHostSupportsInteractiveSession
{
    private readonly Guid _instanceId = Guid.NewGuid();
    private readonly TextHostUserInterface _ui;
    private Runspace? _home;
    private Runspace? _pushed;

    /// <param name="output">Where all streams are written.</param>
    /// <param name="width">Console width in characters used by the formatter.</param>
    public TextHost(TextWriter output, int width = 120)
    {
        _ui = new TextHostUserInterface(output, width);
    }

    public override string Name => "RemoteSessionsTextHost";
    public override Version Version => new(1, 0);
    public override Guid InstanceId => _instanceId;
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;

    /// <summary>Exit code requested by the script through <c>exit</c>, if any.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>
    /// Opens a runspace of the default session state on this host with plain-text output (no ANSI
    /// styling, so captured text is plain). It is the host's own runspace: <see cref="Runspace"/> while
    /// no session is entered.
    /// </summary>
    public Runspace OpenRunspace()
    {
        Runspace runspace = RunspaceFactory.CreateRunspace(this, InitialSessionState.CreateDefault2());
        runspace.Open();
        using (var ps = PowerShell.Create())
        {
            ps.Runspace = runspace;
            ps.AddScript("$PSStyle.OutputRendering = 'PlainText'").Invoke();
        }
        _home = runspace;
        return runspace;
    }

    /// <summary>The runspace commands run in: the entered session's, else the host's own.</summary>
    public Runspace? Runspace => _pushed ?? _home;

    /// <summary>True between Enter-PSSession and Exit-PSSession.</summary>
    public bool IsRunspacePushed => _pushed is not null;

    /// <summary>Enter-PSSession: commands run in <paramref name="runspace"/> from now on; one at a time.</summary>
    public void PushRunspace(Runspace runspace)
    {
        if (_pushed is not null) throw new InvalidOperationException("A session is already entered; run Exit-PSSession first.");
        _pushed = runspace;
    }

    /// <summary>Exit-PSSession: commands run in the host's own runspace again; the session stays open.</summary>
    public void PopRunspace() => _pushed = null;

    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
    public override void EnterNestedPrompt() => throw new NotSupportedException("Nested prompts are not supported by this host.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("Nested prompts are not supported by this host.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

/// <summary>The text user interface of <see cref="TextHost"/>.</summary>
internal sealed class TextHostUserInterface : PSHostUserInterface
{
    private readonly TextWriter _out;
    private readonly TextHostRawUserInterface _raw;

    public TextHostUserInterface(TextWriter output, int width)
    {
        _out = output;
        _raw = new TextHostRawUserInterface(width);
    }

    public override PSHostRawUserInterface RawUI => _raw;
    public override void Write(string value) => _out.Write(Plain(value));
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => _out.Write(Plain(value));
    public override void WriteLine(string value) => _out.WriteLine(Plain(value));
    public override void WriteErrorLine(string value) => _out.WriteLine(Plain(value));
    public override void WriteDebugLine(string message) => _out.WriteLine("DEBUG: " + message);
    public override void WriteVerboseLine(string message) => _out.WriteLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => _out.WriteLine("WARNING: " + message);
    public override void WriteProgress(long sourceId, ProgressRecord record) { }

    public override string ReadLine() => throw NoInput();
    public override SecureString ReadLineAsSecureString() => throw NoInput();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NoInput();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NoInput();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NoInput();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NoInput();

    // The engine leaves ANSI styling in formatted text; a host that is not a terminal removes it.
    private static string Plain(string value) => GetOutputString(value, supportsVirtualTerminal: false);

    private static HostException NoInput() => new("This host reads no input; pass every mandatory parameter.");
}

/// <summary>A fixed-size raw UI: the formatter only needs the buffer width.</summary>
internal sealed class TextHostRawUserInterface : PSHostRawUserInterface
{
    private readonly int _width;

    public TextHostRawUserInterface(int width) => _width = width;

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override Size BufferSize { get => new(_width, 9999); set { } }
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; }
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => new(_width, 50);
    public override Size MaxWindowSize => new(_width, 50);
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize { get => new(_width, 50); set { } }
    public override string WindowTitle { get; set; } = "";
    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new HostException("This host reads no input.");
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
}
