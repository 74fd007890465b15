// Users of the simulated API server and an RBAC-like authorizer. The mTLS admin is in system:masters
// (allowed everything); token users get the rules they were created with. Resource names follow RBAC:
// 'pods' does not grant 'pods/exec'; '*' matches anything.

export interface PolicyRule {
  verbs: string[];
  /** plural resource names, optionally with a subresource: 'secrets', 'pods/exec', '*' */
  resources: string[];
  /** API groups ('' = core); all groups when omitted */
  apiGroups?: string[];
  /** limit to these namespaces; all when omitted */
  namespaces?: string[];
  resourceNames?: string[];
}

export interface SimUser {
  name: string;
  groups: string[];
  /** undefined = cluster admin (system:masters) */
  rules?: PolicyRule[];
}

export interface AuthzAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

function matchesOne(list: string[] | undefined, value: string): boolean {
  return list === undefined || list.includes('*') || list.includes(value);
}

function ruleAllows(rule: PolicyRule, a: AuthzAttributes): boolean {
  if (!matchesOne(rule.verbs, a.verb)) return false;
  if (!matchesOne(rule.apiGroups, a.group)) return false;
  if (rule.namespaces && (!a.namespace || !rule.namespaces.includes(a.namespace))) return false;
  const full = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = rule.resources.some(
    (r) => r === '*' || r === full || (a.subresource !== undefined && r === `${a.resource}/*`) || (a.subresource !== undefined && r === `*/${a.subresource}`),
  );
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) {
    // RBAC: a name-restricted rule never allows list/watch/create/deletecollection without a name.
    if (!a.name || !rule.resourceNames.includes(a.name)) return false;
  }
  return true;
}

export function authorize(user: SimUser, a: AuthzAttributes): boolean {
  if (user.rules === undefined || user.groups.includes('system:masters')) return true;
  // system:basic-user: everyone may ask what they are allowed to do.
  if (a.group === 'authorization.k8s.io' && a.verb === 'create' && /^selfsubject(access|rules)reviews$/.test(a.resource)) return true;
  return user.rules.some((r) => ruleAllows(r, a));
}
