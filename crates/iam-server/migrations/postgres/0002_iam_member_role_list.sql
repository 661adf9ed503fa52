-- Multi-role memberships (better-auth-api.md §7.1): a member's role is one built-in role or a
-- comma-separated list of distinct built-in roles in the order given (`admin,member`). 0001
-- allowed a single role only; the CHECK now lists every ordered list of distinct roles, so a
-- typo or an unknown role still cannot be stored.
ALTER TABLE iam_member DROP CONSTRAINT iam_member_role_check;
ALTER TABLE iam_member ADD CONSTRAINT iam_member_role_check CHECK (role IN (
        'owner',
        'admin',
        'member',
        'owner,admin',
        'owner,member',
        'admin,owner',
        'admin,member',
        'member,owner',
        'member,admin',
        'owner,admin,member',
        'owner,member,admin',
        'admin,owner,member',
        'admin,member,owner',
        'member,owner,admin',
        'member,admin,owner'
));
