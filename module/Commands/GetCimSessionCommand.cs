using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimSession = RemoteSessions.CimSession;

/// <summary>
/// Get-CimSession (spec/cmdlet-behaviour.md §1.5): the CIM sessions of this runspace by computer name
/// (exact), Id, InstanceId or name (wildcards); all of them without arguments. Sessions are written
/// first, then one ObjectNotFound error per value that matched nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CimSession", DefaultParameterSetName = ComputerNameSet)]
[Alias("gcms")]
[OutputType(typeof(CimSession))]
public sealed class GetCimSessionCommand : PSCmdlet
{
    internal const string ComputerNameSet = "ComputerNameSet";
    internal const string SessionIdSet = "SessionIdSet";
    internal const string InstanceIdSet = "InstanceIdSet";
    internal const string NameSet = "NameSet";

    [Parameter(ParameterSetName = ComputerNameSet, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = SessionIdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(CimSessionIdCompleter))]
    public uint[]? Id { get; set; }

    [Parameter(ParameterSetName = InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    [Parameter(ParameterSetName = NameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(CimSessionNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        (Lookup kind, IEnumerable<string>? values) = ParameterSetName switch
        {
            SessionIdSet => (Lookup.Id, Id!.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            InstanceIdSet => (Lookup.InstanceId, InstanceId!.Select(g => g.ToString())),
            NameSet => (Lookup.Name, Name),
            _ when ComputerName is not null => (Lookup.ComputerName, ComputerName),
            _ => (Lookup.All, (IEnumerable<string>?)null),
        };
        (IReadOnlyList<CimSession> found, IReadOnlyList<ErrorRecord> errors) = SessionLookup.Find(RunspaceSessions.Current, kind, values);
        foreach (CimSession s in found) WriteObject(s);
        foreach (ErrorRecord e in errors) WriteError(e);
    }
}
