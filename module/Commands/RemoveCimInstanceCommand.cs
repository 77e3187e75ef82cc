using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimInstance = RemoteSessions.CimInstance;
using CimSession = RemoteSessions.CimSession;
using CimSystemProperties = RemoteSessions.CimSystemProperties;

/// <summary>
/// Remove-CimInstance (spec/cmdlet-behaviour.md §1.8): deletes each instance given (-InputObject, found
/// on the server by its keys) or returned by a -Query, over WS-Management (WS-Transfer Delete). No output.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CimInstance", DefaultParameterSetName = CimInstanceComputerSet, SupportsShouldProcess = true)]
[Alias("rcim")]
public sealed class RemoveCimInstanceCommand : CimOperationCommand
{
    private const string CimInstanceComputerSet = "CimInstanceComputerSet";
    private const string CimInstanceSessionSet = "CimInstanceSessionSet";
    private const string QueryComputerSet = "QueryComputerSet";
    private const string QuerySessionSet = "QuerySessionSet";

    [Parameter(ParameterSetName = CimInstanceComputerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("CimInstance")]
    public CimInstance? InputObject { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Query { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    public string? QueryDialect { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Position = 1, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    protected override void ProcessRecord()
    {
        foreach (CimTarget target in Targets(CimSession, InputObject?.Session, ComputerName))
        {
            try
            {
                foreach (CimInstance instance in CimTargets.Instances(target.Native, InputObject, Namespace, Query, QueryDialect, Cancel))
                {
                    if (!ShouldProcess(instance.ToString(), "Remove-CimInstance")) continue;
                    target.Native.DeleteInstance(instance.CimSystemProperties.Namespace, instance.CimSystemProperties.ClassName, CimTargets.Keys(instance), Cancel);
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, InputObject?.ToString() ?? Query, target);
            }
            catch (OperationCanceledException) when (StopRequested)
            {
                // Ctrl+C: the operation stopped as asked; nothing to report.
            }
            finally
            {
                CimTargets.Release(target);
            }
        }
    }
}
