using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
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
/// Get-CimInstance (spec/cmdlet-behaviour.md §1.7): enumerates a class, runs a WQL query, or re-reads an
/// instance, on the given sessions, on temporary sessions to -ComputerName, or on this machine. Instances
/// are written as they come; filtering and projection happen in the provider. A failure on one session
/// is a non-terminating error and the others go on.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CimInstance", DefaultParameterSetName = ClassNameComputerSet)]
[Alias("gcim")]
[OutputType(typeof(CimInstance))]
public sealed class GetCimInstanceCommand : CimOperationCommand
{
    private const string ClassNameComputerSet = "ClassNameComputerSet";
    private const string ClassNameSessionSet = "ClassNameSessionSet";
    private const string ResourceUriComputerSet = "ResourceUriComputerSet";
    private const string ResourceUriSessionSet = "ResourceUriSessionSet";
    private const string QueryComputerSet = "QueryComputerSet";
    private const string QuerySessionSet = "QuerySessionSet";
    private const string CimInstanceComputerSet = "CimInstanceComputerSet";
    private const string CimInstanceSessionSet = "CimInstanceSessionSet";

    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CimClassNameCompleter))]
    public string? ClassName { get; set; }

    [Parameter(ParameterSetName = CimInstanceSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public Uri? ResourceUri { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet)]
    [Parameter(ParameterSetName = ClassNameSessionSet)]
    [Parameter(ParameterSetName = ResourceUriComputerSet)]
    [Parameter(ParameterSetName = ResourceUriSessionSet)]
    public SwitchParameter KeyOnly { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    [Parameter(ParameterSetName = CimInstanceComputerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("CimInstance")]
    public CimInstance? InputObject { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public string? Query { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, ValueFromPipelineByPropertyName = true)]
    public string? QueryDialect { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet)]
    [Parameter(ParameterSetName = ClassNameSessionSet)]
    [Parameter(ParameterSetName = ResourceUriComputerSet)]
    [Parameter(ParameterSetName = ResourceUriSessionSet)]
    [Parameter(ParameterSetName = QueryComputerSet)]
    [Parameter(ParameterSetName = QuerySessionSet)]
    public SwitchParameter Shallow { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, ValueFromPipelineByPropertyName = true)]
    public string? Filter { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, ValueFromPipelineByPropertyName = true)]
    [Alias("SelectProperties")]
    public string[]? Property { get; set; }

    private const string DefaultNamespace = @"root\cimv2";
    private static readonly Regex ValidName = new("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);


    protected override void BeginProcessing()
    {
        if (ClassName is not null) ValidateName(ClassName.Trim(), nameof(ClassName), allowStar: false);
        foreach (string p in Property ?? []) ValidateName(p.Trim(), nameof(Property), allowStar: true);
    }

    protected override void ProcessRecord()
    {
        bool explicitTarget = CimSession is not null || ComputerName is not null;
        foreach (CimTarget target in Targets(CimSession, InputObject?.Session, ComputerName))
        {
            (CimSession? session, NativeCimSession native, string? computer, _) = target;
            try
            {
                if (StopRequested) return;
                bool partial = KeyOnly || Property is not null;
                string? shownComputer = explicitTarget ? native.ComputerName : computer;
                foreach (CimInstanceData data in Run(native))
                {
                    if (StopRequested) return;
                    WriteObject(new CimInstance(data, session, native).ToPSObject(shownComputer ?? "", partial, explicitTarget));
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, ErrorTarget(), target);
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


    private IEnumerable<CimInstanceData> Run(NativeCimSession session)
    {
        string ns = Namespace ?? DefaultNamespace;
        OperationFlags flags = (KeyOnly ? OperationFlags.KeysOnly : 0) | (Shallow ? OperationFlags.Shallow : 0);
        switch (ParameterSetName)
        {
            case QueryComputerSet or QuerySessionSet:
                Verbose("Query CimInstances", ("namespaceName", ns), ("queryDialect", QueryDialect ?? "WQL"), ("queryExpression", Query));
                return session.Query(ns, QueryDialect ?? "WQL", Query!, flags, Cancel);
            case ResourceUriComputerSet or ResourceUriSessionSet:
                Verbose("Enumerate CimInstances", ("namespaceName", ns), ("resourceUri", ResourceUri));
                if (session.Protocol == "WSMAN") return session.Enumerate(ns, ResourceUri!.ToString(), flags, Cancel);
                // This machine's provider knows classes, not URIs: the URI's class (and a WMI URI's namespace).
                (string uriNamespace, string uriClass) = ResourceUriTarget(ResourceUri!, Namespace);
                return session.Enumerate(uriNamespace, uriClass, flags, Cancel);
            case CimInstanceComputerSet or CimInstanceSessionSet:
                return GetInstance(session, InputObject!);
            default:
                string className = ClassName!.Trim();
                if (QueryDialect is null && Property is null && Filter is null)
                {
                    Verbose("Enumerate CimInstances", ("namespaceName", ns), ("className", className));
                    return session.Enumerate(ns, className, flags, Cancel);
                }
                string query = BuildQuery(className);
                Verbose("Query CimInstances", ("namespaceName", ns), ("queryDialect", QueryDialect ?? "WQL"), ("queryExpression", query));
                return session.Query(ns, QueryDialect ?? "WQL", query, flags, Cancel);
        }
    }

    /// <summary>spec §1.7: <c>SELECT &lt;props or *&gt; FROM &lt;ClassName&gt;[ WHERE &lt;Filter&gt;]</c>, properties joined by commas.</summary>
    private string BuildQuery(string className)
    {
        string select = Property is { Length: > 0 } ? string.Join(",", Property.Select(p => p.Trim())) : "*";
        return string.IsNullOrEmpty(Filter) ? $"SELECT {select} FROM {className}" : $"SELECT {select} FROM {className} WHERE {Filter}";
    }

    // Re-reads an instance by its key properties (GetInstance; a WS-Transfer Get over WS-Management);
    // no match is WMI's "Not found".
    private IEnumerable<CimInstanceData> GetInstance(NativeCimSession session, CimInstance instance)
    {
        string ns = instance.CimSystemProperties.Namespace;
        var keys = CimTargets.Keys(instance);
        Verbose("Get CimInstance", ("namespaceName", ns), ("instance", instance));
        string classOrUri = ResourceUri is not null && session.Protocol == "WSMAN" ? ResourceUri.ToString() : instance.CimSystemProperties.ClassName;
        yield return session.GetInstance(ns, classOrUri, keys, Cancel);
    }


    /// <summary>
    /// Namespace and class named by a resource URI: the last segment is the class; a WMI-style URI
    /// (<c>…/wsman/1/wmi/root/cimv2/Win32_Service</c>) also names the namespace, a CIM-schema URI uses
    /// -Namespace (default root\cimv2).
    /// </summary>
    private static (string Namespace, string ClassName) ResourceUriTarget(Uri uri, string? ns)
    {
        string[] segments = uri.AbsolutePath.Trim('/').Split('/');
        string className = segments[^1];
        int wmi = Array.FindIndex(segments, s => s.Equals("wmi", StringComparison.OrdinalIgnoreCase));
        if (wmi >= 0 && segments.Length - wmi > 2)
            return (string.Join('/', segments[(wmi + 1)..^1]), className);
        return (ns ?? DefaultNamespace, className);
    }

    private void ValidateName(string value, string parameter, bool allowStar)
    {
        if (ValidName.IsMatch(value) || (allowStar && value == "*")) return;
        // As Windows' CheckArgument (GetCimInstanceCommand.cs, ValidationHelper in Utils.cs): an ArgumentException
        // thrown out of the cmdlet, which the engine reports as "System.ArgumentException,…", NotSpecified.
        throw new ArgumentException($"Argument '{value}' contains characters that are not allowed in parameter '{parameter}'. Supply an argument that contains only letters, digits and underscores and does not start with a digit.");
    }

    private string ErrorTarget() => ParameterSetName switch
    {
        QueryComputerSet or QuerySessionSet => Query ?? "",
        CimInstanceComputerSet or CimInstanceSessionSet => InputObject?.ToString() ?? "",
        ResourceUriComputerSet or ResourceUriSessionSet => ResourceUri?.ToString() ?? "",
        _ => $"{Namespace ?? DefaultNamespace}:{ClassName}",
    };

    // spec §1.7: "Perform operation '<op>' with following parameters, '<k>' = <v>,'<k>' = <v>."
    private void Verbose(string operation, params (string Key, object? Value)[] parameters) =>
        WriteVerbose($"Perform operation '{operation}' with following parameters, {string.Join(",", parameters.Select(p => $"'{p.Key}' = {p.Value}"))}.");
}
