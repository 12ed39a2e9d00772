-- CreateEnum
CREATE TYPE "InvitationEventType" AS ENUM ('CREATED', 'RESENT', 'ACCEPTED', 'DECLINED', 'REVOKED', 'DELETED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('PENDING', 'SENT', 'FAILED', 'DISABLED');

-- CreateTable
CREATE TABLE "InvitationEvent" (
    "id" UUID NOT NULL,
    "invitationId" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "type" "InvitationEventType" NOT NULL,
    "actorId" UUID,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "InvitationEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OutboxDelivery" (
    "id" UUID NOT NULL,
    "eventId" UUID NOT NULL,
    "invitationId" UUID NOT NULL,
    "destination" TEXT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL,
    "lockedUntil" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "sentAt" TIMESTAMPTZ(3),
    "token" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "OutboxDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "InvitationEvent_invitationId_occurredAt_id_idx" ON "InvitationEvent"("invitationId", "occurredAt", "id");

-- CreateIndex
CREATE INDEX "OutboxDelivery_invitationId_destination_id_idx" ON "OutboxDelivery"("invitationId", "destination", "id");

-- AddForeignKey
ALTER TABLE "InvitationEvent" ADD CONSTRAINT "InvitationEvent_invitationId_fkey" FOREIGN KEY ("invitationId") REFERENCES "Invitation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InvitationEvent" ADD CONSTRAINT "InvitationEvent_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OutboxDelivery" ADD CONSTRAINT "OutboxDelivery_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "InvitationEvent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OutboxDelivery" ADD CONSTRAINT "OutboxDelivery_invitationId_fkey" FOREIGN KEY ("invitationId") REFERENCES "Invitation"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: the worker's claim reads only deliveries still to be made, soonest first.
CREATE INDEX "OutboxDelivery_due" ON "OutboxDelivery"("nextAttemptAt") WHERE "status" = 'PENDING';
