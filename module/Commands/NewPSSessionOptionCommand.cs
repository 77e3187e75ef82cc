using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;

// Windows' namespace and type name (RC/NewPSSessionOptionCommand.cs), so error ids end as Windows' do.
// pwsh off Windows builds this cmdlet with -SkipCACheck and -SkipCNCheck only; this one has Windows'
// parameters, for the WS-Management sessions of New-PSSession. (CS0436: shadows the engine's type here.)
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// New-PSSessionOption (spec/cmdlet-behaviour.md §2.3): a <see cref="PSSessionOption"/> for -SessionOption
/// or <c>$PSSessionOption</c>, with Windows' parameters; every timeout is in milliseconds. As on Windows,
/// -MaxConnectionRetryCount and -OutputBufferingMode are always copied (so leaving them out gives 0 and
/// None), and the received-size limits stay null unless given. Unlike Windows, an -IdleTimeout from 0 to
/// 59999 ms is refused here at once, with the message New-PSSession would give when using it.
/// </summary>
[Cmdlet(VerbsCommon.New, "PSSessionOption")]
[OutputType(typeof(PSSessionOption))]
public sealed class NewPSSessionOptionCommand : PSCmdlet
{
    /// <summary>The smallest idle timeout WinRM accepts, in ms (BaseTransportManager.MinimumIdleTimeout).</summary>
    internal const int MinimumIdleTimeoutMs = 60_000;

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaximumRedirection { get; set; } = 5;

    [Parameter] public SwitchParameter NoCompression { get; set; }
    [Parameter] public SwitchParameter NoMachineProfile { get; set; }
    [Parameter] [ValidateNotNull] public CultureInfo? Culture { get; set; }
    [Parameter] [ValidateNotNull] public CultureInfo? UICulture { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaximumReceivedDataSizePerCommand { get; set; } = -1;

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaximumReceivedObjectSize { get; set; } = -1;

    [Parameter] public OutputBufferingMode OutputBufferingMode { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxConnectionRetryCount { get; set; }

    [Parameter] [ValidateNotNull] public PSPrimitiveDictionary? ApplicationArguments { get; set; }

    /// <summary>Milliseconds to wait for the session to open.</summary>
    [Parameter]
    [Alias("OpenTimeoutMSec")]
    [ValidateRange(0, int.MaxValue)]
    public int OpenTimeout { get; set; } = -1;

    /// <summary>Milliseconds to wait for a stopped command to end.</summary>
    [Parameter]
    [Alias("CancelTimeoutMSec")]
    [ValidateRange(0, int.MaxValue)]
    public int CancelTimeout { get; set; } = -1;

    /// <summary>Milliseconds the server keeps a session without a client; -1 = the server's default; at least 60000.</summary>
    [Parameter]
    [Alias("IdleTimeoutMSec")]
    [ValidateRange(-1, int.MaxValue)]
    public int IdleTimeout { get; set; } = -1;

    [Parameter] public ProxyAccessType ProxyAccessType { get; set; } = ProxyAccessType.None;
    [Parameter] public AuthenticationMechanism ProxyAuthentication { get; set; } = AuthenticationMechanism.Negotiate;
    [Parameter] [ValidateNotNull] [Credential] public PSCredential? ProxyCredential { get; set; }
    [Parameter] public SwitchParameter SkipCACheck { get; set; }
    [Parameter] public SwitchParameter SkipCNCheck { get; set; }
    [Parameter] public SwitchParameter SkipRevocationCheck { get; set; }

    /// <summary>Milliseconds each WS-Management operation may take (<c>w:OperationTimeout</c>).</summary>
    [Parameter]
    [Alias("OperationTimeoutMSec")]
    [ValidateRange(0, int.MaxValue)]
    public int OperationTimeout { get; set; } = -1;

    [Parameter] public SwitchParameter NoEncryption { get; set; }
    [Parameter] public SwitchParameter UseUTF16 { get; set; }
    [Parameter] public SwitchParameter IncludePortInSPN { get; set; }

    protected override void BeginProcessing()
    {
        if (IdleTimeout is >= 0 and < MinimumIdleTimeoutMs) throw InvalidIdleTimeout(IdleTimeout);
        var option = new PSSessionOption
        {
            MaximumConnectionRedirectionCount = MaximumRedirection,
            NoCompression = NoCompression,
            NoMachineProfile = NoMachineProfile,
            ProxyAccessType = ProxyAccessType,
            ProxyAuthentication = ProxyAuthentication,
            ProxyCredential = ProxyCredential,
            SkipCACheck = SkipCACheck,
            SkipCNCheck = SkipCNCheck,
            SkipRevocationCheck = SkipRevocationCheck,
            NoEncryption = NoEncryption,
            UseUTF16 = UseUTF16,
            IncludePortInSPN = IncludePortInSPN,
            OutputBufferingMode = OutputBufferingMode,
            MaxConnectionRetryCount = MaxConnectionRetryCount,
            Culture = Culture,
            UICulture = UICulture,
            ApplicationArguments = ApplicationArguments,
            MaximumReceivedDataSizePerCommand = MaximumReceivedDataSizePerCommand >= 0 ? MaximumReceivedDataSizePerCommand : null,
            MaximumReceivedObjectSize = MaximumReceivedObjectSize >= 0 ? MaximumReceivedObjectSize : null,
        };
        if (OpenTimeout >= 0) option.OpenTimeout = TimeSpan.FromMilliseconds(OpenTimeout);
        if (CancelTimeout >= 0) option.CancelTimeout = TimeSpan.FromMilliseconds(CancelTimeout);
        if (IdleTimeout >= 0) option.IdleTimeout = TimeSpan.FromMilliseconds(IdleTimeout);
        if (OperationTimeout >= 0) option.OperationTimeout = TimeSpan.FromMilliseconds(OperationTimeout);
        WriteObject(option);
    }

    /// <summary>
    /// Windows' refusal of an idle timeout under a minute (PSRemotingBaseCmdlet.BeginProcessing): a
    /// PSArgumentException thrown out of the cmdlet, so the id is <c>Argument,&lt;cmdlet type&gt;</c>.
    /// </summary>
    internal static PSArgumentException InvalidIdleTimeout(int idleTimeoutMs) => new(
        $"The specified IdleTimeout session option {idleTimeoutMs / 1000} (seconds) is not a valid period.  " +
        $"Specify an IdleTimeout value that is greater than or equal to the minimum allowed {MinimumIdleTimeoutMs / 1000} (seconds).");

    /// <summary>
    /// The effective session option of a remoting cmdlet, as Windows' PSRemotingBaseCmdlet takes it: the
    /// -SessionOption given, else <c>$PSSessionOption</c> (converted: assigned from New-PSSessionOption it
    /// holds the option wrapped in a PSObject), else null (the defaults).
    /// </summary>
    internal static PSSessionOption? Effective(PSCmdlet cmdlet, PSSessionOption? given) =>
        given ?? (LanguagePrimitives.TryConvertTo(cmdlet.GetVariableValue("PSSessionOption"), out PSSessionOption? preference) ? preference : null);

    /// <summary>Throws <see cref="InvalidIdleTimeout"/> for an option whose idle timeout is set but under a minute.</summary>
    internal static void CheckIdleTimeout(PSSessionOption? option)
    {
        int ms = option is null ? -1 : (int)option.IdleTimeout.TotalMilliseconds;
        if (ms != -1 && ms < MinimumIdleTimeoutMs) throw InvalidIdleTimeout(ms);
    }
}
