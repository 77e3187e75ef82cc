using System.Management.Automation;
using RemoteSessions.Native;

using Microsoft.Management.Infrastructure.CimCmdlets;

namespace RemoteSessions.Commands;

/// <summary>
/// What the CIM operation cmdlets share: the options of the temporary sessions that -ComputerName makes
/// (-Credential, -Authentication, -SessionOption, -Port: not in Windows' cmdlets, where the caller's
/// Windows identity and DCOM need none; here a WS-Management server needs them), -OperationTimeoutSec,
/// and a cancel token that StopProcessing (Ctrl+C) fires to stop the wire operation.
/// </summary>
public abstract class CimOperationCommand : PSCmdlet, IDisposable
{
    /// <summary>Credential of the temporary sessions of -ComputerName.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Authentication mechanism of the temporary sessions (as New-CimSession -Authentication).</summary>
    [Parameter]
    public PasswordAuthenticationMechanism Authentication { get; set; }

    /// <summary>Options of the temporary sessions (New-CimSessionOption: -UseSsl, -SkipCACheck, …).</summary>
    [Parameter]
    public CimSessionOptions? SessionOption { get; set; }

    /// <summary>Destination port of the temporary sessions; 0 = the scheme's default.</summary>
    [Parameter]
    public uint Port { get; set; }

    /// <summary>Operation timeout in seconds; 0 = the default.</summary>
    [Parameter]
    [Alias("OT")]
    public uint OperationTimeoutSec { get; set; }

    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled by StopProcessing; pass it to every native operation. The operation then throws
    /// <see cref="OperationCanceledException"/>, which the cmdlets let pass silently.</summary>
    private protected CancellationToken Cancel => _stop.Token;

    /// <summary>True once StopProcessing ran.</summary>
    private protected bool StopRequested { get; private set; }

    /// <summary>The sessions to run on (<see cref="CimTargets.Resolve"/>) with this cmdlet's temporary-session options.</summary>
    private protected IEnumerable<CimTarget> Targets(CimSession[]? sessions, CimSession? origin, string[]? computers) =>
        CimTargets.Resolve(this, sessions, origin, computers,
            CimTargets.TemporaryOptions(SessionOption, Port, OperationTimeoutSec),
            NewCimSessionCommand.CredentialOf(Credential, Authentication));

    /// <summary>Writes a native failure as the CIM cmdlets do, naming the target's computer when it is
    /// a WS-Management one; a cancellation after Ctrl+C is silent.</summary>
    private protected void WriteNativeError(RemoteSessionsException e, object? target, CimTarget on)
    {
        if (e.Code == ResultCode.Cancelled && StopRequested) return;
        WriteError(CimErrors.FromNative(e, target, on.Native.Protocol == "WSMAN" ? on.Native.ComputerName : null));
    }

    protected override void StopProcessing()
    {
        StopRequested = true;
        _stop.Cancel();
    }

    /// <summary>Frees the cancellation source.</summary>
    public void Dispose() => _stop.Dispose();
}
