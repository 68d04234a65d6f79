import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import { syncIdSequences } from '../db/dialect.js';
import type { Connection } from '../db/connect.js';
import { createGroupService } from '../groups/group.service.js';
import { createKeyService } from '../auth/key.service.js';
import { createOrgService } from '../orgs/org.service.js';
import { createUserService } from '../users/user.service.js';
import { DEMO_BILLING_GROUPS, DEMO_GROUPS, demoUsers } from './demo-data.js';

const DEMO_ORG = 'demo';

/**
 * On an empty database, creates the organization `demo` with its billing
 * groups, groups and 165 users, and an admin key. Returns the key (to be shown
 * once), or null when the database already holds an organization.
 */
export async function seedDemo(conn: Connection): Promise<string | null> {
  const orgs = createOrgService(conn.db);
  if ((await orgs.countOrganizations()) > 0) return null;
  const orgId = await orgs.createOrganization(DEMO_ORG);
  const billingGroups = createBillingGroupService(conn.db);
  const groups = createGroupService(conn.db);
  const users = createUserService(conn.db, { cacheBytes: 0 });
  await conn.db.transaction().execute(async (trx) => {
    for (const bg of DEMO_BILLING_GROUPS) await billingGroups.insertBillingGroup(trx, { ...bg, org_id: orgId });
    for (const g of DEMO_GROUPS) await groups.insertGroup(trx, { ...g, org_id: orgId });
    await syncIdSequences(trx, conn.dialect);
    for (const user of demoUsers()) await users.insertStoredUser(trx, orgId, user);
  });
  const { key } = await createKeyService(conn.db).createApiKey(orgId, 'admin');
  return key;
}
