-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "allowedEmailDomains" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "seatLimit" INTEGER;

-- AlterTable
ALTER TABLE "Invitation" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

