using System.Collections;
using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimType = RemoteSessions.Native.CimType;
using CimClass = RemoteSessions.CimClass;
using CimInstance = RemoteSessions.CimInstance;
using CimMethodDeclaration = RemoteSessions.CimMethodDeclaration;
using CimMethodParameterDeclaration = RemoteSessions.CimMethodParameterDeclaration;
using CimSession = RemoteSessions.CimSession;
using CimSystemProperties = RemoteSessions.CimSystemProperties;

/// <summary>
/// Invoke-CimMethod (spec/cmdlet-behaviour.md §1.8): calls a static method of a class, or a method of
/// each instance given (-InputObject, or those a -Query returns), on the given sessions, on temporary
/// sessions to -ComputerName, or on this machine. Each result is a <c>CimMethodResult</c>-like object
/// with <c>ReturnValue</c>, the out-parameters and <c>PSComputerName</c>. A failure on one target is a
/// non-terminating error and the others go on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "CimMethod", DefaultParameterSetName = ClassNameComputerSet, SupportsShouldProcess = true)]
[Alias("icim")]
[OutputType(typeof(PSObject))]
public sealed class InvokeCimMethodCommand : CimOperationCommand
{
    private const string ClassNameComputerSet = "ClassNameComputerSet";
    private const string ClassNameSessionSet = "ClassNameSessionSet";
    private const string CimInstanceComputerSet = "CimInstanceComputerSet";
    private const string CimInstanceSessionSet = "CimInstanceSessionSet";
    private const string QueryComputerSet = "QueryComputerSet";
    private const string QuerySessionSet = "QuerySessionSet";
    private const string CimClassComputerSet = "CimClassComputerSet";
    private const string CimClassSessionSet = "CimClassSessionSet";
    private const string ResourceUriComputerSet = "ResourceUriComputerSet";
    private const string ResourceUriSessionSet = "ResourceUriSessionSet";

    [Parameter(ParameterSetName = ClassNameComputerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Class")]
    public string? ClassName { get; set; }

    [Parameter(ParameterSetName = CimInstanceComputerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("CimInstance")]
    public CimInstance? InputObject { get; set; }

    /// <summary>A class from Get-CimClass: the method and its parameters are checked against its declaration
    /// and the arguments converted to the declared types.</summary>
    [Parameter(ParameterSetName = CimClassComputerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimClassSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public CimClass? CimClass { get; set; }

    /// <summary>The resource URI of the class whose static method is called (for a non-CIM-schema resource);
    /// with an input instance, the URI to name it by instead of its class name.</summary>
    [Parameter(ParameterSetName = ResourceUriComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, ValueFromPipelineByPropertyName = true)]
    public Uri? ResourceUri { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public string? Query { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    public string? QueryDialect { get; set; }

    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimClassSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimClassComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    /// <summary>The method's in-parameters: name → value.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public IDictionary? Arguments { get; set; }

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string? MethodName { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ResourceUriSessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    private const string DefaultNamespace = @"root\cimv2";

    protected override void ProcessRecord()
    {
        var arguments = (Arguments?.Cast<DictionaryEntry>() ?? [])
            .Select(e => (Name: e.Key.ToString() ?? "", Value: CimArguments.ToNative(e.Value)))
            .ToArray();
        if (CimClass is not null && arguments.Length > 0)
        {
            arguments = Declared(CimClass, arguments);
        }
        foreach (CimTarget target in Targets(CimSession, InputObject?.Session ?? CimClass?.Session, ComputerName))
        {
            try
            {
                foreach ((string ns, string className, (string, string)[] keys, object shown) in Calls(target.Native))
                {
                    if (!ShouldProcess(shown.ToString(), $"Invoke-CimMethod: {MethodName}")) continue;
                    CimInstanceData result = target.Native.Invoke(ns, className, keys, MethodName!, arguments, Cancel);
                    WriteObject(Result(result, className[(className.LastIndexOf('/') + 1)..], target.Native.ComputerName));
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, InputObject?.ToString() ?? ClassName ?? Query, target);
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

    // What to call on one session: the class (static), the input instance, or each instance of the query.
    private IEnumerable<(string Namespace, string ClassName, (string, string)[] Keys, object Shown)> Calls(NativeCimSession session)
    {
        string ns = Namespace ?? DefaultNamespace;
        switch (ParameterSetName)
        {
            case CimInstanceComputerSet or CimInstanceSessionSet:
                CimInstance input = InputObject!;
                yield return (Namespace ?? input.CimSystemProperties.Namespace, ResourceUri?.ToString() ?? input.CimSystemProperties.ClassName, CimTargets.Keys(input), input);
                break;
            case QueryComputerSet or QuerySessionSet:
                foreach (CimInstance instance in CimTargets.Instances(session, null, ns, Query, QueryDialect, Cancel))
                    yield return (instance.CimSystemProperties.Namespace, instance.CimSystemProperties.ClassName, CimTargets.Keys(instance), instance);
                break;
            case CimClassComputerSet or CimClassSessionSet:
                yield return (CimClass!.CimSystemProperties.Namespace, CimClass.CimClassName, [], CimClass);
                break;
            case ResourceUriComputerSet or ResourceUriSessionSet:
                yield return (ns, ResourceUri!.ToString(), [], ResourceUri);
                break;
            default:
                yield return (ns, ClassName!.Trim(), [], ClassName!.Trim());
                break;
        }
    }

    /// <summary>
    /// The arguments checked against the method's declaration in <paramref name="c"/> and converted to the
    /// declared types (spec §1.8). As Windows (CimInvokeCimMethod.cs, only when there are arguments), a
    /// method or parameter the class does not declare, or a value that does not convert, throws an
    /// ArgumentException out of the cmdlet: the engine makes it the error
    /// <c>System.ArgumentException,…InvokeCimMethodCommand</c>, category NotSpecified.
    /// </summary>
    private (string Name, object? Value)[] Declared(CimClass c, (string Name, object? Value)[] arguments)
    {
        CimMethodDeclaration method = c.CimClassMethods[MethodName!]
            ?? throw new ArgumentException($"Can not find method '{MethodName}' in class '{c.CimClassName}'.");
        var typed = new (string Name, object? Value)[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            (string name, object? value) = arguments[i];
            CimMethodParameterDeclaration parameter = method.Parameters[name]
                ?? throw new ArgumentException($"Can not find Parameter '{name}' in method '{method.Name}' of class '{c.CimClassName}'.");
            try
            {
                typed[i] = (parameter.Name, ToDeclared(value, parameter.CimType));
            }
            catch (PSInvalidCastException e)
            {
                throw new ArgumentException($"Parameter '{name}' of method '{method.Name}' takes a {parameter.CimType}: {e.Message}", e);
            }
        }
        return typed;
    }

    /// <summary>A value converted to the .NET type of CIM type <paramref name="type"/> (arrays element by
    /// element); an object path given for a reference becomes one; references, embedded instances and
    /// intervals stay as given.</summary>
    /// <exception cref="PSInvalidCastException">The value does not convert.</exception>
    private static object? ToDeclared(object? value, CimType type)
    {
        if (value is null) return null;
        if (type == CimType.Reference && value is string path) return new CimReference(path);
        bool array = (uint)type > (uint)CimType.Instance;
        CimType scalar = array ? (CimType)((uint)type - 16) : type;
        Type? target = scalar == CimType.DateTime && value is TimeSpan ? null : CimValues.DotNetType(scalar);
        if (target is null) return value;
        if (!array) return LanguagePrimitives.ConvertTo(value, target, System.Globalization.CultureInfo.InvariantCulture);
        return LanguagePrimitives.ConvertTo(value, target.MakeArrayType(), System.Globalization.CultureInfo.InvariantCulture);
    }

    // spec §1.8: a note property per out-parameter (ReturnValue among them) and PSComputerName; type names
    // CimMethodResult#<Class>#<Method>, then CimMethodResult.
    private PSObject Result(CimInstanceData result, string className, string computer)
    {
        var o = new PSObject();
        o.TypeNames.Clear();
        o.TypeNames.Add($"Microsoft.Management.Infrastructure.CimMethodResult#{className}#{MethodName}");
        o.TypeNames.Add("Microsoft.Management.Infrastructure.CimMethodResult");
        foreach (CimPropertyData p in result.Properties) o.Properties.Add(new PSNoteProperty(p.Name, p.Value));
        o.Properties.Add(new PSNoteProperty("PSComputerName", computer));
        return o;
    }
}
