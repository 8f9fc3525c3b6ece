setInterval(() => console.log('billing tick'), 60000);
