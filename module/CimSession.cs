using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>
/// A CIM session as the cmdlets output it (spec/cmdlet-behaviour.md §1.1): Id, Name, InstanceId,
/// ComputerName and Protocol, rendered as a list like Windows'. The same object is returned each time
/// the session is looked up in its runspace.
/// </summary>
public sealed class CimSession
{
    internal CimSession(NativeCimSession native) => Native = native;

    internal NativeCimSession Native { get; }

    /// <summary>Id within the runspace, from 1.</summary>
    public uint Id => Native.Id;
    public string Name => Native.Name;
    public Guid InstanceId => Native.InstanceId;
    /// <summary>The computer name as given (<c>localhost</c> for a local session), not resolved.</summary>
    public string ComputerName => Native.ComputerName;
    /// <summary><c>Local</c> for this machine's in-process provider, <c>WSMAN</c> for WS-Management.</summary>
    public string Protocol => Native.Protocol;

    /// <summary>The ShouldProcess target text of Remove-CimSession (spec §1.6).</summary>
    internal string Describe() =>
        $"CimSession id = {Id}, name = {Name}, ComputerName = {ComputerName}, instance id = {InstanceId}";

    /// <inheritdoc />
    public override string ToString() => ComputerName;
}
