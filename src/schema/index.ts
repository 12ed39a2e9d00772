/** Imports every domain file (each registers its types and fields) and builds the schema. */
import { builder } from "../builder.js";
import "./event.js";
import "./group.js";
import "./invitation.js";
import "./membership.js";
import "./organization.js";
import "./preview.js";
import "./role.js";
import "./subscription.js";
import "./user.js";
import "./webhook.js";

export const schema = builder.toSchema({ sortSchema: true });
