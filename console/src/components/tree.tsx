import { useRef, useState } from 'react';

export interface TreeNode {
  readonly id: string;
  readonly label: string;
  readonly children: readonly TreeNode[];
}

interface Visible {
  readonly node: TreeNode;
  readonly level: number;
  readonly parent: string | null;
  readonly setSize: number;
  readonly position: number;
}

function visibleNodes(
  nodes: readonly TreeNode[],
  collapsed: ReadonlySet<string>,
  level = 1,
  parent: string | null = null,
): Visible[] {
  return nodes.flatMap((node, i) => [
    { node, level, parent, setSize: nodes.length, position: i + 1 },
    ...(collapsed.has(node.id) ? [] : visibleNodes(node.children, collapsed, level + 1, node.id)),
  ]);
}

/**
 * An ARIA tree (WAI-ARIA APG's tree view pattern): one tab stop, Up/Down move, Right opens or enters,
 * Left closes or goes to the parent, Home/End jump, Enter/Space toggle.
 */
export function Tree({ label, nodes }: { label: string; nodes: readonly TreeNode[] }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [active, setActive] = useState<string | null>(null);
  const items = useRef(new Map<string, HTMLLIElement>());
  const visible = visibleNodes(nodes, collapsed);
  const activeId = active && visible.some((v) => v.node.id === active) ? active : (visible[0]?.node.id ?? null);

  const focus = (id: string | undefined) => {
    if (!id) return;
    setActive(id);
    items.current.get(id)?.focus();
  };
  const toggle = (id: string, open: boolean) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (open) next.delete(id);
      else next.add(id);
      return next;
    });

  const onKeyDown = (event: React.KeyboardEvent, v: Visible, index: number) => {
    const hasChildren = v.node.children.length > 0;
    const open = hasChildren && !collapsed.has(v.node.id);
    const moves: Record<string, () => void> = {
      ArrowDown: () => focus(visible[index + 1]?.node.id),
      ArrowUp: () => focus(visible[index - 1]?.node.id),
      Home: () => focus(visible[0]?.node.id),
      End: () => focus(visible[visible.length - 1]?.node.id),
      ArrowRight: () => (open ? focus(v.node.children[0]?.id) : hasChildren && toggle(v.node.id, true)),
      ArrowLeft: () => (open ? toggle(v.node.id, false) : focus(v.parent ?? undefined)),
      Enter: () => hasChildren && toggle(v.node.id, !open),
      ' ': () => hasChildren && toggle(v.node.id, !open),
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    event.stopPropagation();
    move();
  };

  // A flat tree (aria-level, aria-setsize, aria-posinset): each item's name is its own label, not its subtree's text.
  const rendered = visible.map((v, index) => {
    const { node } = v;
    const hasChildren = node.children.length > 0;
    const open = hasChildren && !collapsed.has(node.id);
    return (
      <li
        key={node.id}
        role="treeitem"
        aria-level={v.level}
        aria-setsize={v.setSize}
        aria-posinset={v.position}
        aria-expanded={hasChildren ? open : undefined}
        aria-selected={node.id === activeId}
        tabIndex={node.id === activeId ? 0 : -1}
        ref={(el) => {
          if (el) items.current.set(node.id, el);
          else items.current.delete(node.id);
        }}
        onKeyDown={(e) => onKeyDown(e, v, index)}
        onClick={() => {
          setActive(node.id);
          if (hasChildren) toggle(node.id, !open);
        }}
      >
        <span aria-hidden="true" className="twisty">
          {hasChildren ? (open ? '▾' : '▸') : '·'}
        </span>
        {node.label}
      </li>
    );
  });

  return (
    <ul role="tree" aria-label={label} className="tree">
      {rendered}
    </ul>
  );
}
