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
/// Get-CimAssociatedInstance (spec/cmdlet-behaviour.md §1.8): the instances associated with the input
/// instance (CIM Associators; over WS-Management an associationFilter Enumerate, DSP0227 §8.2), through
/// -Association and of -ResultClassName when given, on the input's own session, the given sessions,
/// temporary sessions to -ComputerName, or this machine. Instances are written as they arrive; a failure
/// on one session is a non-terminating error and the others go on.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CimAssociatedInstance", DefaultParameterSetName = ComputerSet)]
[Alias("gcai")]
[OutputType(typeof(CimInstance))]
public sealed class GetCimAssociatedInstanceCommand : CimOperationCommand
{
    private const string ComputerSet = "ComputerSet";
    private const string SessionSet = "SessionSet";

    /// <summary>Class of the associations to follow; null = every association.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public string? Association { get; set; }

    /// <summary>Class of the instances to return; null = any.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ResultClassName { get; set; }

    /// <summary>The source instance.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("CimInstance")]
    public CimInstance? InputObject { get; set; }

    /// <summary>Namespace of the operation; null = the input instance's namespace.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Resource URI naming the source instance's class on the server, instead of its class name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public Uri? ResourceUri { get; set; }

    [Parameter(ParameterSetName = ComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = SessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    /// <summary>Return the associated instances with only their key properties.</summary>
    [Parameter]
    public SwitchParameter KeyOnly { get; set; }

    protected override void ProcessRecord()
    {
        CimInstance source = InputObject!;
        bool explicitTarget = CimSession is not null || ComputerName is not null;
        foreach (CimTarget target in Targets(CimSession, source.Session, ComputerName))
        {
            (CimSession? session, NativeCimSession native, string? computer, _) = target;
            try
            {
                if (StopRequested) return;
                string ns = Namespace ?? source.CimSystemProperties.Namespace;
                string sourceClass = ResourceUri?.ToString() ?? source.CimSystemProperties.ClassName;
                var keys = CimTargets.Keys(source);
                WriteVerbose($"Perform operation 'Enumerate associated CimInstances' with following parameters, 'namespaceName' = {ns},'sourceInstance' = {source},'associationClassName' = {Association},'resultClassName' = {ResultClassName}.");
                string? shownComputer = explicitTarget ? native.ComputerName : computer;
                var flags = KeyOnly ? OperationFlags.KeysOnly : OperationFlags.None;
                foreach (CimInstanceData data in native.Associators(ns, sourceClass, keys, Association, ResultClassName, flags: flags, cancellationToken: Cancel))
                {
                    if (StopRequested) return;
                    WriteObject(new CimInstance(data, session, native).ToPSObject(shownComputer ?? "", KeyOnly, explicitTarget));
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, source.ToString(), target);
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
