import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { createBillingGroup, createGroup, listBillingGroups, listGroups } from '../api/calls';
import { problemOf, type BillingGroup, type Group } from '../api/client';
import { isAdmin, useMe } from '../app';
import { ProblemAlert } from '../components/problem-alert';
import { Tree, type TreeNode } from '../components/tree';
import { useTitle } from '../components/use-title';

/** The API allows three levels of billing groups; groups hang on leaves only. */
const MAX_DEPTH = 3;

const inactive = (status: string) => (status === 'inactive' ? ' (inactive)' : '');

/** The hierarchy as tree nodes: billing groups under their parents, each leaf's groups under it. */
function treeOf(billingGroups: readonly BillingGroup[], groups: readonly Group[]): TreeNode[] {
  const build = (parent: number | null): TreeNode[] =>
    billingGroups
      .filter((b) => b.parent_id === parent)
      .map((b) => {
        const children = build(b.billing_group_id);
        const own = groups
          .filter((g) => g.billing_group_id === b.billing_group_id)
          .map((g) => ({ id: `g${g.group_id}`, label: `Group: ${g.group_name}${inactive(g.status)}`, children: [] }));
        return {
          id: `b${b.billing_group_id}`,
          label: `${b.billing_group_name}${inactive(b.status)}`,
          children: [...children, ...own],
        };
      });
  return build(null);
}

function depthOf(id: number, all: readonly BillingGroup[]): number {
  const parent = all.find((b) => b.billing_group_id === id)?.parent_id ?? null;
  return parent === null ? 1 : 1 + depthOf(parent, all);
}

function NewBillingGroupForm({
  all,
  hasGroups,
  onDone,
}: {
  all: readonly BillingGroup[];
  hasGroups: (id: number) => boolean;
  onDone: () => void;
}) {
  const ids = { name: useId(), parent: useId() };
  const [name, setName] = useState('');
  const [parent, setParent] = useState('');
  const create = useMutation({
    mutationFn: () => createBillingGroup(name, parent === '' ? null : Number(parent)),
    onSuccess: onDone,
  });
  // A child goes under an active billing group above the third level that holds no groups (docs/writes.md).
  const parents = all.filter(
    (b) => b.status === 'active' && depthOf(b.billing_group_id, all) < MAX_DEPTH && !hasGroups(b.billing_group_id),
  );
  return (
    <form
      aria-label="New billing group"
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <ProblemAlert problem={create.error ? problemOf(create.error) : null} />
      <label htmlFor={ids.name}>Billing group name</label>
      <input id={ids.name} type="text" value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor={ids.parent}>Parent</label>
      <select id={ids.parent} value={parent} onChange={(e) => setParent(e.target.value)}>
        <option value="">none (a top-level billing group)</option>
        {parents.map((b) => (
          <option key={b.billing_group_id} value={b.billing_group_id}>
            {b.billing_group_name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={create.isPending}>
        Create billing group
      </button>
    </form>
  );
}

function NewGroupForm({ leaves, onDone }: { leaves: readonly BillingGroup[]; onDone: () => void }) {
  const ids = { name: useId(), leaf: useId() };
  const [name, setName] = useState('');
  const [leaf, setLeaf] = useState(leaves[0] ? String(leaves[0].billing_group_id) : '');
  const create = useMutation({ mutationFn: () => createGroup(name, Number(leaf)), onSuccess: onDone });
  return (
    <form
      aria-label="New group"
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <ProblemAlert problem={create.error ? problemOf(create.error) : null} />
      <label htmlFor={ids.name}>Group name</label>
      <input id={ids.name} type="text" value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor={ids.leaf}>On billing group</label>
      <select id={ids.leaf} value={leaf} onChange={(e) => setLeaf(e.target.value)}>
        {leaves.map((b) => (
          <option key={b.billing_group_id} value={b.billing_group_id}>
            {b.billing_group_name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={create.isPending}>
        Create group
      </button>
    </form>
  );
}

/** /console/billing-groups: the hierarchy as an ARIA tree; admin keys may add billing groups and groups. */
export function BillingGroupsView() {
  useTitle('Billing groups');
  const me = useMe();
  const queryClient = useQueryClient();
  const billingGroups = useQuery({ queryKey: ['billing-groups'], queryFn: listBillingGroups });
  const groups = useQuery({ queryKey: ['groups'], queryFn: listGroups });
  const [open, setOpen] = useState<'billing-group' | 'group' | null>(null);
  const all = billingGroups.data ?? [];
  const hasChildren = (id: number) => all.some((b) => b.parent_id === id);
  const hasGroups = (id: number) => (groups.data ?? []).some((g) => g.billing_group_id === id);
  const leaves = all.filter((b) => b.status === 'active' && !hasChildren(b.billing_group_id));
  const done = () => {
    setOpen(null);
    void queryClient.invalidateQueries({ queryKey: ['billing-groups'] });
    void queryClient.invalidateQueries({ queryKey: ['groups'] });
  };
  const error = billingGroups.error ?? groups.error;

  return (
    <>
      <div className="title-row">
        <h1>Billing groups</h1>
        {isAdmin(me) && (
          <div className="actions">
            <button
              type="button"
              aria-expanded={open === 'billing-group'}
              onClick={() => setOpen(open === 'billing-group' ? null : 'billing-group')}
            >
              New billing group
            </button>
            <button
              type="button"
              aria-expanded={open === 'group'}
              onClick={() => setOpen(open === 'group' ? null : 'group')}
            >
              New group
            </button>
          </div>
        )}
      </div>
      {open === 'billing-group' && <NewBillingGroupForm all={all} hasGroups={hasGroups} onDone={done} />}
      {open === 'group' && <NewGroupForm leaves={leaves} onDone={done} />}
      {error ? <ProblemAlert problem={problemOf(error)} /> : null}
      {billingGroups.data && groups.data ? (
        all.length === 0 ? (
          <p>This organization has no billing groups yet.</p>
        ) : (
          <Tree label="Billing groups" nodes={treeOf(all, groups.data)} />
        )
      ) : (
        !error && <p role="status">Loading…</p>
      )}
    </>
  );
}
