/** Activities of the browser tests' workflows (they run in the test process's worker). */
import { ApplicationFailure } from '@temporalio/activity';

export async function reserveStock(orderId: string): Promise<string> {
  return `reserved ${orderId}`;
}

export async function chargeCard(orderId: string, amount: number): Promise<string> {
  return `receipt-${orderId}-${amount.toFixed(2)}`;
}

export async function declineCard(orderId: string): Promise<never> {
  throw ApplicationFailure.nonRetryable(`card declined for order ${orderId}`, 'PaymentDeclined', { code: 51 });
}
