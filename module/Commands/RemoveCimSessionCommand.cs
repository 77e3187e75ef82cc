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
/// Remove-CimSession (spec/cmdlet-behaviour.md §1.6): removes CIM sessions of this runspace given as
/// objects (also from the pipeline), computer names, Ids, InstanceIds or names; honours -WhatIf/-Confirm.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CimSession", DefaultParameterSetName = CimSessionSet, SupportsShouldProcess = true)]
[Alias("rcms")]
public sealed class RemoveCimSessionCommand : PSCmdlet
{
    private const string CimSessionSet = "CimSessionSet";

    [Parameter(ParameterSetName = CimSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = GetCimSessionCommand.ComputerNameSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = GetCimSessionCommand.SessionIdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(CimSessionIdCompleter))]
    public uint[]? Id { get; set; }

    [Parameter(ParameterSetName = GetCimSessionCommand.InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    [Parameter(ParameterSetName = GetCimSessionCommand.NameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(CimSessionNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        RunspaceSessions state = RunspaceSessions.Current;
        if (ParameterSetName == CimSessionSet)
        {
            foreach (CimSession s in CimSession!) Remove(state, s);
            return;
        }
        (Lookup kind, IEnumerable<string> values) = ParameterSetName switch
        {
            GetCimSessionCommand.SessionIdSet => (Lookup.Id, Id!.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            GetCimSessionCommand.InstanceIdSet => (Lookup.InstanceId, InstanceId!.Select(g => g.ToString())),
            GetCimSessionCommand.NameSet => (Lookup.Name, Name!),
            _ => (Lookup.ComputerName, ComputerName!),
        };
        (IReadOnlyList<CimSession> found, IReadOnlyList<ErrorRecord> errors) = SessionLookup.Find(state, kind, values);
        foreach (CimSession s in found) Remove(state, s);
        foreach (ErrorRecord e in errors) WriteError(e);
    }

    private void Remove(RunspaceSessions state, CimSession session)
    {
        if (!ShouldProcess(session.Describe(), "Remove CimSession")) return;
        try
        {
            state.Scope.Remove(session.Native);
            state.Forget(session);
        }
        catch (RemoteSessionsException e) when (e.Code == ResultCode.NotFound)
        {
            WriteError(CimErrors.SessionNotFound("CimSession", "{CimSession Object}"));
        }
    }
}
