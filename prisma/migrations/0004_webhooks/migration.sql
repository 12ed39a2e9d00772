-- AlterTable
ALTER TABLE "InvitationEvent" ADD COLUMN     "data" JSONB;

-- AlterTable
ALTER TABLE "OutboxDelivery" ADD COLUMN     "endpointId" UUID,
ADD COLUMN     "lastAttemptAt" TIMESTAMPTZ(3),
ADD COLUMN     "responseStatus" INTEGER;

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "secret" TEXT NOT NULL,
    "createdById" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "WebhookEndpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "WebhookEndpoint_organizationId_createdAt_id_idx" ON "WebhookEndpoint"("organizationId", "createdAt" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "OutboxDelivery" ADD CONSTRAINT "OutboxDelivery_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEndpoint" ADD CONSTRAINT "WebhookEndpoint_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEndpoint" ADD CONSTRAINT "WebhookEndpoint_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;


-- Hand-written: an endpoint's recent deliveries, newest first (emails, with no endpoint, stay out of the index).
CREATE INDEX "OutboxDelivery_endpoint" ON "OutboxDelivery"("endpointId", "id") WHERE "endpointId" IS NOT NULL;

-- Hand-written: a webhook delivery names its endpoint, and nothing else does.
ALTER TABLE "OutboxDelivery" ADD CONSTRAINT "OutboxDelivery_webhook_endpoint"
  CHECK (("destination" = 'webhook') = ("endpointId" IS NOT NULL));
